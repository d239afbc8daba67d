// crypto.hpp over OpenSSL's libcrypto loaded at run time (the CLI): only
// `sjs user ...` needs it, and loading it costs every other command ~0.5 ms.
#include <dlfcn.h>

#include "sjs/crypto.hpp"
#include "sjs/errors.hpp"

namespace sjs::crypto {
namespace {

struct Libcrypto {
  using Pbkdf2 = int (*)(const char*, int, const unsigned char*, int, int, const void*, int, unsigned char*);
  using Md = const void* (*)();
  using Sha256 = unsigned char* (*)(const unsigned char*, std::size_t, unsigned char*);
  Pbkdf2 pbkdf2 = nullptr;
  Md evp_sha256 = nullptr;
  Sha256 sha256 = nullptr;
};

const Libcrypto& libcrypto() {
  static const Libcrypto lib = [] {
    Libcrypto l;
    void* h = ::dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
    if (!h) h = ::dlopen("libcrypto.so", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      throw Error(ErrorCode::internal, std::string("cannot load OpenSSL's libcrypto (install libssl3): ") + ::dlerror());
    }
    l.pbkdf2 = reinterpret_cast<Libcrypto::Pbkdf2>(::dlsym(h, "PKCS5_PBKDF2_HMAC"));
    l.evp_sha256 = reinterpret_cast<Libcrypto::Md>(::dlsym(h, "EVP_sha256"));
    l.sha256 = reinterpret_cast<Libcrypto::Sha256>(::dlsym(h, "SHA256"));
    if (!l.pbkdf2 || !l.evp_sha256 || !l.sha256) throw Error(ErrorCode::internal, "libcrypto lacks PBKDF2 or SHA256");
    return l;
  }();
  return lib;
}

}  // namespace

std::string pbkdf2_sha256(std::string_view password, std::string_view salt, int iterations, std::size_t bytes) {
  const auto& l = libcrypto();
  std::string out(bytes, '\0');
  if (l.pbkdf2(password.data(), static_cast<int>(password.size()), reinterpret_cast<const unsigned char*>(salt.data()),
               static_cast<int>(salt.size()), iterations, l.evp_sha256(), static_cast<int>(bytes),
               reinterpret_cast<unsigned char*>(out.data())) != 1) {
    throw Error(ErrorCode::internal, "PBKDF2 failed");
  }
  return out;
}

std::string sha256(std::string_view data) {
  std::string out(k_sha256_bytes, '\0');
  libcrypto().sha256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                     reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

}  // namespace sjs::crypto

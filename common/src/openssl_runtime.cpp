#include "sjs/openssl_runtime.hpp"

#include <dlfcn.h>
#include <mutex>

#include <openssl/opensslv.h>

#include "sjs/errors.hpp"

namespace sjs::openssl {
namespace {

#define SJS_STR2(x) #x
#define SJS_STR(x) SJS_STR2(x)
// The major version of the headers we were compiled against: libssl.so.3 for OpenSSL 3.
#ifdef OPENSSL_SHLIB_VERSION
constexpr const char* k_so_version = SJS_STR(OPENSSL_SHLIB_VERSION);
#else
constexpr const char* k_so_version = SHLIB_VERSION_NUMBER;
#endif

// One library, loaded once: `bind_all` binds every function of T, or the load fails.
template <typename T>
class Loaded {
 public:
  template <typename BindAll>
  const T& get(const char* library, BindAll&& bind_all) {
    std::call_once(m_once, [&] {
      const std::string file = std::string(library) + ".so." + k_so_version;
      void* h = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!h) {
        const char* e = ::dlerror();
        m_failure = "cannot load OpenSSL's " + file + " (Debian package libssl3): " + (e ? e : "not found");
        return;
      }
      auto bind = [&](auto& fn, const char* name) {
        void* sym = ::dlsym(h, name);
        if (!sym && m_failure.empty()) m_failure = file + " lacks " + name + ": is it OpenSSL " + k_so_version + "?";
        fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(sym);
      };
      bind_all(m_lib, bind);
    });
    if (!m_failure.empty()) throw Error(ErrorCode::unavailable, m_failure);
    return m_lib;
  }

 private:
  std::once_flag m_once;
  T m_lib;
  std::string m_failure;  // why it could not be loaded; set once
};

#define SJS_BIND(name) bind(lib.name, #name)

}  // namespace

std::string Crypto::errors() const {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

const Crypto& crypto() {
  static Loaded<Crypto> loaded;
  return loaded.get("libcrypto", [](Crypto& lib, auto&& bind) {
    SJS_BIND(PKCS5_PBKDF2_HMAC);
    SJS_BIND(EVP_sha256);
    SJS_BIND(EVP_Digest);
    SJS_BIND(ERR_get_error);
    SJS_BIND(ERR_error_string_n);
    SJS_BIND(ERR_clear_error);
    SJS_BIND(X509_verify_cert_error_string);
  });
}

const Ssl& ssl() {
  crypto();  // libssl's errors are read through libcrypto
  static Loaded<Ssl> loaded;
  return loaded.get("libssl", [](Ssl& lib, auto&& bind) {
    SJS_BIND(TLS_client_method);
    SJS_BIND(SSL_CTX_new);
    SJS_BIND(SSL_CTX_free);
    SJS_BIND(SSL_CTX_ctrl);
    SJS_BIND(SSL_CTX_set_options);
    SJS_BIND(SSL_CTX_set_verify);
    SJS_BIND(SSL_CTX_set_default_verify_paths);
    SJS_BIND(SSL_CTX_load_verify_locations);
    SJS_BIND(SSL_new);
    SJS_BIND(SSL_free);
    SJS_BIND(SSL_set_fd);
    SJS_BIND(SSL_ctrl);
    SJS_BIND(SSL_set1_host);
    SJS_BIND(SSL_connect);
    SJS_BIND(SSL_read);
    SJS_BIND(SSL_write);
    SJS_BIND(SSL_get_error);
    SJS_BIND(SSL_shutdown);
    SJS_BIND(SSL_get_verify_result);
  });
}

}  // namespace sjs::openssl

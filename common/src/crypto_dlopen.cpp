// crypto.hpp over OpenSSL's libcrypto loaded at run time (the CLI), through the one
// loader (openssl_runtime.hpp): only `sjs user ...` needs it, and loading it would cost
// every other command ~0.5 ms.
#include "sjs/crypto.hpp"
#include "sjs/errors.hpp"
#include "sjs/openssl_runtime.hpp"

namespace sjs::crypto {

std::string pbkdf2_sha256(std::string_view password, std::string_view salt, int iterations, std::size_t bytes) {
  const auto& lib = openssl::crypto();
  std::string out(bytes, '\0');
  if (lib.PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                            reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                            iterations, lib.EVP_sha256(), static_cast<int>(bytes),
                            reinterpret_cast<unsigned char*>(out.data())) != 1) {
    throw Error(ErrorCode::internal, "PBKDF2 failed: " + lib.errors());
  }
  return out;
}

std::string sha256(std::string_view data) {
  const auto& lib = openssl::crypto();
  std::string out(k_sha256_bytes, '\0');
  unsigned int size = 0;
  if (lib.EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &size, lib.EVP_sha256(),
                     nullptr) != 1 ||
      size != k_sha256_bytes) {
    throw Error(ErrorCode::internal, "SHA-256 failed: " + lib.errors());
  }
  return out;
}

}  // namespace sjs::crypto

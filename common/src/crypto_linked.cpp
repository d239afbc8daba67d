// crypto.hpp over OpenSSL's libcrypto, linked (sjsd).
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "sjs/crypto.hpp"
#include "sjs/errors.hpp"

namespace sjs::crypto {

std::string pbkdf2_sha256(std::string_view password, std::string_view salt, int iterations, std::size_t bytes) {
  std::string out(bytes, '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()), iterations,
                        EVP_sha256(), static_cast<int>(bytes), reinterpret_cast<unsigned char*>(out.data())) != 1) {
    throw Error(ErrorCode::internal, "PBKDF2 failed");
  }
  return out;
}

std::string sha256(std::string_view data) {
  std::string out(k_sha256_bytes, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

}  // namespace sjs::crypto

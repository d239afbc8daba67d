// The few cryptographic primitives sjs needs (password hashing for HTTP users,
// token digests). Two builds of the same functions: sjsd links OpenSSL's
// libcrypto (crypto_linked.cpp); the CLI loads it at run time only when a
// command needs it (crypto_dlopen.cpp), so every other command starts without it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sjs::crypto {

constexpr std::size_t k_sha256_bytes = 32;

// PBKDF2-HMAC-SHA256 of `password` with `salt`; `bytes` of output. Throws Error(internal).
std::string pbkdf2_sha256(std::string_view password, std::string_view salt, int iterations, std::size_t bytes);
// SHA-256 digest (32 raw bytes). Throws Error(internal).
std::string sha256(std::string_view data);
// Cryptographically random bytes (getrandom). Throws Error(internal).
std::string random_bytes(std::size_t n);
// Compares without an early exit.
bool equal_constant_time(std::string_view a, std::string_view b);

}  // namespace sjs::crypto

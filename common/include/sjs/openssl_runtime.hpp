// OpenSSL loaded at run time: the one loader of libcrypto and libssl for the CLI, which
// links no TLS library so that a local command starts without one (sjsd links OpenSSL
// and does not use this). Compiled against <openssl/*.h>: each function pointer has the
// type of the header's declaration (decltype), and the constants come from the headers;
// only the libraries are loaded late. Include this only where OpenSSL is needed.
//   crypto(): libcrypto, for `sjs user` (crypto_dlopen.cpp) and for TLS error texts;
//   ssl():    libssl (and so libcrypto), for https:// URLs (cli/tls_stream.cpp).
// Each is loaded on first use and kept; a missing library or symbol throws
// Error(unavailable) saying which package provides it.
#pragma once

#include <string>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace sjs::openssl {

// A pointer to the function `name` as <openssl/*.h> declares it, bound by name at load.
#define SJS_OPENSSL_FN(name) decltype(&::name) name = nullptr

struct Crypto {
  SJS_OPENSSL_FN(PKCS5_PBKDF2_HMAC);
  SJS_OPENSSL_FN(EVP_sha256);
  SJS_OPENSSL_FN(EVP_Digest);
  SJS_OPENSSL_FN(ERR_get_error);
  SJS_OPENSSL_FN(ERR_error_string_n);
  SJS_OPENSSL_FN(ERR_clear_error);
  SJS_OPENSSL_FN(X509_verify_cert_error_string);

  // The thread's queued OpenSSL errors as one line ("" if none); empties the queue.
  std::string errors() const;
};

struct Ssl {
  SJS_OPENSSL_FN(TLS_client_method);
  SJS_OPENSSL_FN(SSL_CTX_new);
  SJS_OPENSSL_FN(SSL_CTX_free);
  SJS_OPENSSL_FN(SSL_CTX_ctrl);
  SJS_OPENSSL_FN(SSL_CTX_set_options);
  SJS_OPENSSL_FN(SSL_CTX_set_verify);
  SJS_OPENSSL_FN(SSL_CTX_set_default_verify_paths);
  SJS_OPENSSL_FN(SSL_CTX_load_verify_locations);
  SJS_OPENSSL_FN(SSL_new);
  SJS_OPENSSL_FN(SSL_free);
  SJS_OPENSSL_FN(SSL_set_fd);
  SJS_OPENSSL_FN(SSL_ctrl);
  SJS_OPENSSL_FN(SSL_set1_host);
  SJS_OPENSSL_FN(SSL_connect);
  SJS_OPENSSL_FN(SSL_read);
  SJS_OPENSSL_FN(SSL_write);
  SJS_OPENSSL_FN(SSL_get_error);
  SJS_OPENSSL_FN(SSL_shutdown);
  SJS_OPENSSL_FN(SSL_get_verify_result);
};

#undef SJS_OPENSSL_FN

// libcrypto, loaded on the first call. Throws Error(unavailable) if it cannot be.
const Crypto& crypto();
// libssl, loaded on the first call (with crypto()). Throws Error(unavailable) if it cannot be.
const Ssl& ssl();

}  // namespace sjs::openssl

#include "tcp_stream.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/error.hpp>

#include "sjs/errors.hpp"
#include "sjs/openssl_runtime.hpp"

namespace sjs::cli {
namespace {

// OpenSSL writes with write(2): a peer that went away would raise SIGPIPE. Block it
// around TLS writes and swallow one that was raised meanwhile.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &set, &m_old);
    sigset_t pending;
    sigemptyset(&pending);
    ::sigpending(&pending);
    m_was_pending = sigismember(&pending, SIGPIPE) == 1;
  }
  ~SigpipeGuard() {
    if (!m_was_pending) {
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGPIPE);
      struct timespec zero {0, 0};
      while (::sigtimedwait(&set, nullptr, &zero) > 0) {
      }
    }
    ::pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t m_old;
  bool m_was_pending = false;
};

bool is_ip_literal(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

boost::system::error_code errno_code(int e) { return {e, boost::system::system_category()}; }

}  // namespace

// ---- TlsContext ----------------------------------------------------------------------

TlsContext::~TlsContext() {
  if (m_ctx) openssl::ssl().SSL_CTX_free(m_ctx);
}

ssl_ctx_st* TlsContext::get() {
  if (m_ctx) return m_ctx;
  const auto& lib = openssl::ssl();
  const auto& crypto = openssl::crypto();
  SSL_CTX* ctx = lib.SSL_CTX_new(lib.TLS_client_method());
  if (!ctx) throw Error(ErrorCode::internal, "cannot create a TLS context: " + crypto.errors());
  lib.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, nullptr);
  lib.SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (m_options.insecure) {
    lib.SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  } else {
    lib.SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    lib.SSL_CTX_set_default_verify_paths(ctx);
    if (!m_options.cacert.empty() && lib.SSL_CTX_load_verify_locations(ctx, m_options.cacert.c_str(), nullptr) != 1) {
      std::string e = crypto.errors();
      lib.SSL_CTX_free(ctx);
      throw Error(ErrorCode::bad_request,
                  "cannot load the CA certificates of --cacert " + m_options.cacert + (e.empty() ? "" : ": " + e));
    }
  }
  m_ctx = ctx;
  return ctx;
}

// ---- TcpStream -------------------------------------------------------------------------

void TcpStream::connect(const std::string& host, std::uint16_t port, double timeout_s, const std::string& where) {
  close();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0) {
    throw Error(ErrorCode::unavailable,
                "cannot reach " + where + ": cannot resolve host \"" + host + "\": " + ::gai_strerror(rc));
  }
  std::string why = "no address";
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    int s = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (s < 0) {
      why = std::strerror(errno);
      continue;
    }
    int r = ::connect(s, ai->ai_addr, ai->ai_addrlen);
    if (r != 0 && errno == EINPROGRESS) {
      pollfd p{s, POLLOUT, 0};
      int n;
      do {
        n = ::poll(&p, 1, static_cast<int>(timeout_s * 1000));
      } while (n < 0 && errno == EINTR);
      if (n == 0) {
        why = "connection timed out";
        ::close(s);
        continue;
      }
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len);
      r = err == 0 ? 0 : -1;
      errno = err;
    }
    if (r != 0) {
      why = std::strerror(errno);
      ::close(s);
      continue;
    }
    int flags = ::fcntl(s, F_GETFL);
    ::fcntl(s, F_SETFL, flags & ~O_NONBLOCK);
    int one = 1;
    ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    m_fd = s;
    break;
  }
  ::freeaddrinfo(res);
  if (m_fd < 0) throw Error(ErrorCode::unavailable, "cannot reach " + where + ": " + why);
}

void TcpStream::handshake(TlsContext& tls, const std::string& host, double timeout_s, const std::string& where) {
  SSL_CTX* ctx = tls.get();
  const auto& lib = openssl::ssl();
  const auto& crypto = openssl::crypto();
  const bool insecure = tls.options().insecure;
  crypto.ERR_clear_error();
  m_ssl = lib.SSL_new(ctx);
  if (!m_ssl) throw Error(ErrorCode::internal, "cannot create a TLS session: " + crypto.errors());
  lib.SSL_set_fd(m_ssl, m_fd);
  if (!is_ip_literal(host)) {
    // SSL_set_tlsext_host_name(), a macro over SSL_ctrl.
    lib.SSL_ctrl(m_ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(host.c_str()));
  }
  // The certificate must name the host (DNS name or IP address) of the URL.
  if (!insecure) lib.SSL_set1_host(m_ssl, host.c_str());
  set_io_timeout(timeout_s);
  int rc;
  {
    SigpipeGuard guard;
    rc = lib.SSL_connect(m_ssl);
  }
  set_io_timeout(0);
  if (rc == 1) return;
  const long verify = lib.SSL_get_verify_result(m_ssl);
  std::string errors = crypto.errors();
  if (!insecure && (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH)) {
    throw Error(ErrorCode::unavailable,
                "cannot reach " + where + ": TLS: the server's certificate does not name " + host + " (" +
                    crypto.X509_verify_cert_error_string(verify) +
                    "): use a URL with a host name the certificate has, or --insecure to skip the check");
  }
  if (!insecure && verify != X509_V_OK) {
    throw Error(ErrorCode::unavailable,
                "cannot reach " + where + ": TLS: the server's certificate is not trusted (" +
                    crypto.X509_verify_cert_error_string(verify) +
                    "): pass --cacert FILE with the CA that signed it, or --insecure to skip the check");
  }
  if (errors.find("wrong version number") != std::string::npos || errors.find("packet length") != std::string::npos) {
    errors += ": does it serve plain http://?";
  }
  throw Error(ErrorCode::unavailable,
              "cannot reach " + where + ": TLS handshake failed" + (errors.empty() ? std::string() : ": " + errors));
}

void TcpStream::close() {
  if (m_ssl) {
    const auto& lib = openssl::ssl();
    {
      SigpipeGuard guard;
      lib.SSL_shutdown(m_ssl);
    }
    lib.SSL_free(m_ssl);
    openssl::crypto().ERR_clear_error();
    m_ssl = nullptr;
  }
  if (m_fd >= 0) ::close(m_fd);
  m_fd = -1;
  m_tls_error.clear();
}

void TcpStream::set_io_timeout(double seconds) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(seconds);
  tv.tv_usec = static_cast<suseconds_t>((seconds - static_cast<double>(tv.tv_sec)) * 1e6);
  ::setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(m_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

std::size_t TcpStream::read_raw(void* data, std::size_t size, boost::system::error_code& ec) {
  ec = {};
  if (m_fd < 0) {
    ec = boost::asio::error::not_connected;
    return 0;
  }
  for (;;) {
    if (m_ssl) {
      const auto& lib = openssl::ssl();
      int n = lib.SSL_read(m_ssl, data, static_cast<int>(std::min<std::size_t>(size, 1u << 30)));
      if (n > 0) return static_cast<std::size_t>(n);
      const int err = lib.SSL_get_error(m_ssl, n);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) continue;
      if (err == SSL_ERROR_SYSCALL && errno == EINTR) continue;
      if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_SSL) {
        std::string e = openssl::crypto().errors();
        if (!e.empty()) {
          m_tls_error = "TLS read failed: " + e;
          ec = boost::system::errc::make_error_code(boost::system::errc::protocol_error);
          return 0;
        }
      }
      ec = boost::asio::error::eof;  // close_notify, or the peer closed without one
      return 0;
    }
    ssize_t n = ::recv(m_fd, data, size, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ec = errno_code(errno);
      return 0;
    }
    if (n == 0) ec = boost::asio::error::eof;
    return static_cast<std::size_t>(n);
  }
}

std::size_t TcpStream::write_raw(const iovec* iov, std::size_t count, boost::system::error_code& ec) {
  ec = {};
  if (count == 0) return 0;
  if (m_fd < 0) {
    ec = boost::asio::error::not_connected;
    return 0;
  }
  if (m_ssl) {
    // One TLS record for a small gather (a request's head and its JSON body), else the first buffer.
    char joined[16 << 10];
    const void* data = iov[0].iov_base;
    std::size_t size = iov[0].iov_len;
    std::size_t total = 0;
    for (std::size_t i = 0; i < count; ++i) total += iov[i].iov_len;
    if (count > 1 && total <= sizeof joined) {
      std::size_t at = 0;
      for (std::size_t i = 0; i < count; ++i) {
        std::memcpy(joined + at, iov[i].iov_base, iov[i].iov_len);
        at += iov[i].iov_len;
      }
      data = joined;
      size = total;
    }
    const auto& lib = openssl::ssl();
    for (;;) {
      int n;
      int err;
      {
        SigpipeGuard guard;
        n = lib.SSL_write(m_ssl, data, static_cast<int>(std::min<std::size_t>(size, 1u << 30)));
        err = n > 0 ? 0 : lib.SSL_get_error(m_ssl, n);
      }
      if (n > 0) return static_cast<std::size_t>(n);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) continue;
      if (err == SSL_ERROR_SYSCALL && errno != 0) {
        ec = errno_code(errno);
        return 0;
      }
      m_tls_error = "TLS write failed: " + openssl::crypto().errors();
      ec = boost::system::errc::make_error_code(boost::system::errc::protocol_error);
      return 0;
    }
  }
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = count;
  for (;;) {
    ssize_t n = ::sendmsg(m_fd, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ec = errno_code(errno);
      return 0;
    }
    return static_cast<std::size_t>(n);
  }
}

}  // namespace sjs::cli

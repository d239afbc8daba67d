#include "sjs/http_client.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <mutex>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "sjs/client.hpp"
#include "sjs/errors.hpp"

namespace sjs {
namespace {

// ---- OpenSSL, loaded at run time ---------------------------------------------------
// Only the few functions the client needs, declared with opaque pointers so that no
// OpenSSL header or library is needed to build or link sjs. The constants are OpenSSL's
// (stable across 1.1 and 3.x; we load 3).

constexpr int k_ssl_verify_none = 0;
constexpr int k_ssl_verify_peer = 1;
constexpr int k_ssl_error_ssl = 1;
constexpr int k_ssl_error_want_read = 2;
constexpr int k_ssl_error_want_write = 3;
constexpr int k_ssl_error_syscall = 5;
constexpr int k_ssl_error_zero_return = 6;
constexpr int k_ssl_ctrl_set_tlsext_hostname = 55;
constexpr int k_ssl_ctrl_set_min_proto_version = 123;
constexpr long k_tlsext_nametype_host_name = 0;
constexpr long k_tls1_2_version = 0x0303;
constexpr std::uint64_t k_ssl_op_ignore_unexpected_eof = std::uint64_t{1} << 7;
constexpr long k_x509_v_ok = 0;
constexpr long k_x509_v_err_hostname_mismatch = 62;
constexpr long k_x509_v_err_ip_address_mismatch = 64;

struct OpenSsl {
  const void* (*TLS_client_method)() = nullptr;
  void* (*SSL_CTX_new)(const void*) = nullptr;
  void (*SSL_CTX_free)(void*) = nullptr;
  int (*SSL_CTX_set_default_verify_paths)(void*) = nullptr;
  int (*SSL_CTX_load_verify_locations)(void*, const char*, const char*) = nullptr;
  void (*SSL_CTX_set_verify)(void*, int, void*) = nullptr;
  long (*SSL_CTX_ctrl)(void*, int, long, void*) = nullptr;
  std::uint64_t (*SSL_CTX_set_options)(void*, std::uint64_t) = nullptr;
  void* (*SSL_new)(void*) = nullptr;
  void (*SSL_free)(void*) = nullptr;
  int (*SSL_set_fd)(void*, int) = nullptr;
  int (*SSL_set1_host)(void*, const char*) = nullptr;
  long (*SSL_ctrl)(void*, int, long, void*) = nullptr;
  int (*SSL_connect)(void*) = nullptr;
  int (*SSL_read)(void*, void*, int) = nullptr;
  int (*SSL_write)(void*, const void*, int) = nullptr;
  int (*SSL_get_error)(const void*, int) = nullptr;
  int (*SSL_shutdown)(void*) = nullptr;
  long (*SSL_get_verify_result)(const void*) = nullptr;
  // libcrypto's, found through libssl's dependencies
  unsigned long (*ERR_get_error)() = nullptr;
  void (*ERR_error_string_n)(unsigned long, char*, std::size_t) = nullptr;
  void (*ERR_clear_error)() = nullptr;
  const char* (*X509_verify_cert_error_string)(long) = nullptr;
};

// Loads libssl.so.3 once; throws Error(unavailable) saying why it cannot.
const OpenSsl& openssl() {
  static OpenSsl lib;
  static std::string failure;
  static std::once_flag once;
  std::call_once(once, [] {
    void* h = ::dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* e = ::dlerror();
      failure = std::string("https:// needs OpenSSL 3 (libssl.so.3, Debian package libssl3): ") + (e ? e : "not found");
      return;
    }
    auto bind = [&](auto& fn, const char* name) {
      void* sym = ::dlsym(h, name);
      if (!sym && failure.empty()) failure = std::string("libssl.so.3 lacks ") + name + ": is it OpenSSL 3?";
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(sym);
    };
#define SJS_BIND(name) bind(lib.name, #name)
    SJS_BIND(TLS_client_method);
    SJS_BIND(SSL_CTX_new);
    SJS_BIND(SSL_CTX_free);
    SJS_BIND(SSL_CTX_set_default_verify_paths);
    SJS_BIND(SSL_CTX_load_verify_locations);
    SJS_BIND(SSL_CTX_set_verify);
    SJS_BIND(SSL_CTX_ctrl);
    SJS_BIND(SSL_CTX_set_options);
    SJS_BIND(SSL_new);
    SJS_BIND(SSL_free);
    SJS_BIND(SSL_set_fd);
    SJS_BIND(SSL_set1_host);
    SJS_BIND(SSL_ctrl);
    SJS_BIND(SSL_connect);
    SJS_BIND(SSL_read);
    SJS_BIND(SSL_write);
    SJS_BIND(SSL_get_error);
    SJS_BIND(SSL_shutdown);
    SJS_BIND(SSL_get_verify_result);
    SJS_BIND(ERR_get_error);
    SJS_BIND(ERR_error_string_n);
    SJS_BIND(ERR_clear_error);
    SJS_BIND(X509_verify_cert_error_string);
#undef SJS_BIND
  });
  if (!failure.empty()) throw Error(ErrorCode::unavailable, failure);
  return lib;
}

// OpenSSL's queued errors as one line ("" if none).
std::string ssl_errors(const OpenSsl& ssl) {
  std::string out;
  while (unsigned long e = ssl.ERR_get_error()) {
    char buf[256];
    ssl.ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

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

// ---- small helpers -------------------------------------------------------------------

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string base64(const std::string& in) {
  static const char* k_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += k_alphabet[(v >> 18) & 63];
    out += k_alphabet[(v >> 12) & 63];
    out += k_alphabet[(v >> 6) & 63];
    out += k_alphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += k_alphabet[(v >> 18) & 63];
    out += k_alphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += k_alphabet[(v >> 18) & 63];
    out += k_alphabet[(v >> 12) & 63];
    out += k_alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string percent_encode(const std::string& s) {
  static const char* k_hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += k_hex[c >> 4];
      out += k_hex[c & 15];
    }
  }
  return out;
}

std::string percent_decode_userinfo(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

struct ParsedUrl {
  bool tls = false;
  std::string host;         // without brackets
  std::string authority;    // for the Host header: host[:port], brackets for IPv6
  int port = 0;
  std::string prefix;       // path before /sjs/v1, without a trailing '/'
  std::string user, password;
  std::string display;      // the URL without credentials
};

ParsedUrl parse_url(const std::string& url) {
  auto bad = [&](const std::string& why) {
    return Error(ErrorCode::usage, "bad --url \"" + url + "\": " + why + " (expected http://HOST:PORT or https://HOST:PORT)");
  };
  ParsedUrl u;
  std::string rest;
  const std::string lowered = lower(url.substr(0, 8));
  if (lowered.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (lowered.rfind("https://", 0) == 0) {
    u.tls = true;
    rest = url.substr(8);
  } else {
    throw bad("the scheme must be http:// or https://");
  }
  auto slash = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "" : rest.substr(slash);
  if (!path.empty() && path[0] != '/') throw bad("a query or fragment is not allowed");
  if (path.find_first_of("?#") != std::string::npos) throw bad("a query or fragment is not allowed");
  while (!path.empty() && path.back() == '/') path.pop_back();
  u.prefix = path;
  auto at = authority.rfind('@');
  if (at != std::string::npos) {
    std::string userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    auto colon = userinfo.find(':');
    u.user = percent_decode_userinfo(userinfo.substr(0, colon));
    if (colon != std::string::npos) u.password = percent_decode_userinfo(userinfo.substr(colon + 1));
  }
  std::string port_text;
  if (!authority.empty() && authority[0] == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos) throw bad("an IPv6 address needs its closing ']'");
    u.host = authority.substr(1, close - 1);
    std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') throw bad("unexpected text after the IPv6 address");
      port_text = after.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) port_text = authority.substr(colon + 1);
  }
  if (u.host.empty()) throw bad("no host");
  u.port = u.tls ? 443 : 80;
  if (!port_text.empty()) {
    if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos) {
      throw bad("the port must be a number");
    }
    u.port = std::stoi(port_text);
    if (u.port < 1 || u.port > 65535) throw bad("the port must be 1 to 65535");
  }
  const std::string host_part = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  u.authority = host_part + ":" + std::to_string(u.port);
  u.display = std::string(u.tls ? "https://" : "http://") + u.authority + u.prefix;
  return u;
}

// An I/O failure on the connection: the request may be retried on a fresh one if it
// happened before any byte of the answer arrived on a reused connection.
struct Lost {
  std::string why;
};

}  // namespace

// ---- the connection --------------------------------------------------------------------

struct HttpClient::Impl {
  HttpClientOptions options;
  ParsedUrl url;
  std::string authorization;  // the header's value, "" for none
  void* ssl_ctx = nullptr;
  void* ssl = nullptr;
  int fd = -1;
  int requests_done = 0;      // on the open connection
  std::string rbuf;           // received, not consumed yet
  std::size_t rpos = 0;

  explicit Impl(HttpClientOptions o) : options(std::move(o)), url(parse_url(options.url)) {
    std::string user = options.user.empty() ? url.user : options.user;
    std::string password = options.user.empty() ? url.password : options.password;
    if (!options.token.empty()) {
      authorization = "Bearer " + options.token;
    } else if (!user.empty()) {
      authorization = "Basic " + base64(user + ":" + password);
    }
  }

  ~Impl() {
    disconnect();
    if (ssl_ctx) openssl().SSL_CTX_free(ssl_ctx);
  }

  std::string where() const { return "sjsd at " + url.display; }

  void disconnect() {
    if (ssl) {
      const auto& lib = openssl();
      {
        SigpipeGuard guard;
        lib.SSL_shutdown(ssl);
      }
      lib.SSL_free(ssl);
      ssl = nullptr;
    }
    if (fd >= 0) ::close(fd);
    fd = -1;
    requests_done = 0;
    rbuf.clear();
    rpos = 0;
  }

  // TCP connect with a timeout, to each address of the host in turn.
  void connect_tcp() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int rc = ::getaddrinfo(url.host.c_str(), std::to_string(url.port).c_str(), &hints, &res);
    if (rc != 0) {
      throw Error(ErrorCode::unavailable, "cannot reach " + where() + ": cannot resolve host \"" + url.host +
                                              "\": " + ::gai_strerror(rc));
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
          n = ::poll(&p, 1, static_cast<int>(options.connect_timeout_s * 1000));
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
      fd = s;
      break;
    }
    ::freeaddrinfo(res);
    if (fd < 0) throw Error(ErrorCode::unavailable, "cannot reach " + where() + ": " + why);
  }

  void set_io_timeout(double seconds) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(seconds);
    tv.tv_usec = static_cast<suseconds_t>((seconds - static_cast<double>(tv.tv_sec)) * 1e6);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }

  void* tls_context() {
    if (ssl_ctx) return ssl_ctx;
    const auto& lib = openssl();
    void* ctx = lib.SSL_CTX_new(lib.TLS_client_method());
    if (!ctx) throw Error(ErrorCode::internal, "cannot create a TLS context: " + ssl_errors(lib));
    lib.SSL_CTX_ctrl(ctx, k_ssl_ctrl_set_min_proto_version, k_tls1_2_version, nullptr);
    lib.SSL_CTX_set_options(ctx, k_ssl_op_ignore_unexpected_eof);
    if (options.insecure) {
      lib.SSL_CTX_set_verify(ctx, k_ssl_verify_none, nullptr);
    } else {
      lib.SSL_CTX_set_verify(ctx, k_ssl_verify_peer, nullptr);
      lib.SSL_CTX_set_default_verify_paths(ctx);
      if (!options.cacert.empty() && lib.SSL_CTX_load_verify_locations(ctx, options.cacert.c_str(), nullptr) != 1) {
        std::string e = ssl_errors(lib);
        lib.SSL_CTX_free(ctx);
        throw Error(ErrorCode::bad_request, "cannot load the CA certificates of --cacert " + options.cacert +
                                                (e.empty() ? "" : ": " + e));
      }
    }
    ssl_ctx = ctx;
    return ctx;
  }

  void handshake() {
    const auto& lib = openssl();
    void* ctx = tls_context();
    lib.ERR_clear_error();
    ssl = lib.SSL_new(ctx);
    if (!ssl) throw Error(ErrorCode::internal, "cannot create a TLS session: " + ssl_errors(lib));
    lib.SSL_set_fd(ssl, fd);
    if (!is_ip_literal(url.host)) {
      lib.SSL_ctrl(ssl, k_ssl_ctrl_set_tlsext_hostname, k_tlsext_nametype_host_name, const_cast<char*>(url.host.c_str()));
    }
    // The certificate must name the host (DNS name or IP address) of the URL.
    if (!options.insecure) lib.SSL_set1_host(ssl, url.host.c_str());
    set_io_timeout(options.connect_timeout_s);
    int rc;
    {
      SigpipeGuard guard;
      rc = lib.SSL_connect(ssl);
    }
    set_io_timeout(0);
    if (rc == 1) return;
    const long verify = lib.SSL_get_verify_result(ssl);
    std::string errors = ssl_errors(lib);
    if (!options.insecure && (verify == k_x509_v_err_hostname_mismatch || verify == k_x509_v_err_ip_address_mismatch)) {
      throw Error(ErrorCode::unavailable,
                  "cannot reach " + where() + ": TLS: the server's certificate does not name " + url.host + " (" +
                      lib.X509_verify_cert_error_string(verify) +
                      "): use a URL with a host name the certificate has, or --insecure to skip the check");
    }
    if (!options.insecure && verify != k_x509_v_ok) {
      throw Error(ErrorCode::unavailable,
                  "cannot reach " + where() + ": TLS: the server's certificate is not trusted (" +
                      lib.X509_verify_cert_error_string(verify) +
                      "): pass --cacert FILE with the CA that signed it, or --insecure to skip the check");
    }
    if (errors.find("wrong version number") != std::string::npos || errors.find("packet length") != std::string::npos) {
      errors += ": does it serve plain http://?";
    }
    throw Error(ErrorCode::unavailable, "cannot reach " + where() + ": TLS handshake failed" +
                                            (errors.empty() ? std::string() : ": " + errors));
  }

  void ensure_connected() {
    if (fd >= 0) return;
    connect_tcp();
    if (url.tls) {
      try {
        handshake();
      } catch (...) {
        disconnect();
        throw;
      }
    }
  }

  // ---- raw I/O ----

  void write_all(const char* data, std::size_t size) {
    while (size > 0) {
      if (ssl) {
        const auto& lib = openssl();
        int chunk = static_cast<int>(std::min<std::size_t>(size, 1 << 30));
        int n;
        int err;
        {
          SigpipeGuard guard;
          n = lib.SSL_write(ssl, data, chunk);
          err = n > 0 ? 0 : lib.SSL_get_error(ssl, n);
        }
        if (n <= 0) {
          if (err == k_ssl_error_want_read || err == k_ssl_error_want_write) continue;
          throw Lost{"TLS write failed: " + ssl_errors(lib)};
        }
        data += n;
        size -= static_cast<std::size_t>(n);
      } else {
        ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw Lost{std::strerror(errno)};
        data += n;
        size -= static_cast<std::size_t>(n);
      }
    }
  }
  void write_all(const std::string& s) { write_all(s.data(), s.size()); }

  // Reads what arrives into rbuf; false at the end of the stream.
  bool fill() {
    if (rpos > 0 && rpos == rbuf.size()) {
      rbuf.clear();
      rpos = 0;
    } else if (rpos > (1u << 20)) {
      rbuf.erase(0, rpos);
      rpos = 0;
    }
    char buf[65536];
    for (;;) {
      if (ssl) {
        const auto& lib = openssl();
        int n = lib.SSL_read(ssl, buf, sizeof buf);
        if (n > 0) {
          rbuf.append(buf, static_cast<std::size_t>(n));
          return true;
        }
        int err = lib.SSL_get_error(ssl, n);
        if (err == k_ssl_error_want_read || err == k_ssl_error_want_write) continue;
        if (err == k_ssl_error_zero_return) return false;
        if (err == k_ssl_error_syscall && errno == EINTR) continue;
        if (err == k_ssl_error_syscall || err == k_ssl_error_ssl) {
          std::string e = ssl_errors(lib);
          if (e.empty()) return false;  // the peer closed without close_notify
          throw Lost{"TLS read failed: " + e};
        }
        return false;
      }
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw Lost{std::strerror(errno)};
      if (n == 0) return false;
      rbuf.append(buf, static_cast<std::size_t>(n));
      return true;
    }
  }

  // One line ending in CRLF (or LF), without it.
  std::string read_line() {
    for (;;) {
      auto nl = rbuf.find('\n', rpos);
      if (nl != std::string::npos) {
        std::string line = rbuf.substr(rpos, nl - rpos);
        rpos = nl + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return line;
      }
      if (rbuf.size() - rpos > (64u << 10)) throw Error(ErrorCode::protocol, where() + " sent a header line over 64 KiB");
      if (!fill()) throw Lost{"the connection closed"};
    }
  }

  // Up to `n` bytes of the body to `sink`.
  template <typename Sink>
  void read_exact(std::uint64_t n, Sink&& sink) {
    while (n > 0) {
      if (rpos == rbuf.size() && !fill()) throw Lost{"the connection closed in the middle of an answer"};
      std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(n, rbuf.size() - rpos));
      sink(rbuf.data() + rpos, take);
      rpos += take;
      n -= take;
    }
  }

  // ---- one exchange ----

  struct Head {
    int status = 0;
    std::string reason;
    std::map<std::string, std::string> headers;
  };

  // Sends the request line and headers, then `body_writer` writes the body.
  template <typename BodyWriter>
  Head send_and_read_head(const std::string& method, const std::string& target, const std::string& content_type,
                          std::uint64_t content_length, BodyWriter&& body_writer) {
    std::string head = method + " " + url.prefix + target + " HTTP/1.1\r\n";
    head += "Host: " + url.authority + "\r\n";
    head += "User-Agent: " + options.user_agent + "\r\n";
    head += "Accept: application/json, application/x-ndjson\r\n";
    if (!authorization.empty()) head += "Authorization: " + authorization + "\r\n";
    if (!content_type.empty()) head += "Content-Type: " + content_type + "\r\n";
    head += "Content-Length: " + std::to_string(content_length) + "\r\n\r\n";
    std::string write_failure;
    try {
      write_all(head);
      body_writer();
    } catch (const Lost& l) {
      // The server may have answered and closed early (413, 401): read what it said.
      write_failure = l.why.empty() ? "write failed" : l.why;
    }
    Head h;
    try {
      for (;;) {
        std::string status_line = read_line();
        if (status_line.empty()) continue;
        if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) {
          throw Error(ErrorCode::protocol, where() + " does not speak HTTP/1.1 (it answered \"" +
                                               status_line.substr(0, 60) + "\")" +
                                               (url.tls ? "" : ": does it serve https:// only?"));
        }
        h = Head{};
        h.status = std::atoi(status_line.c_str() + 9);
        h.reason = status_line.size() > 13 ? status_line.substr(13) : "";
        for (;;) {
          std::string line = read_line();
          if (line.empty()) break;
          auto colon = line.find(':');
          if (colon == std::string::npos) continue;
          std::string value = line.substr(colon + 1);
          auto b = value.find_first_not_of(" \t");
          auto e = value.find_last_not_of(" \t");
          value = b == std::string::npos ? "" : value.substr(b, e - b + 1);
          h.headers[lower(line.substr(0, colon))] = value;
        }
        if (h.status >= 100 && h.status < 200) continue;  // 100 Continue and friends
        return h;
      }
    } catch (const Lost& l) {
      throw Lost{write_failure.empty() ? l.why : write_failure};
    }
  }

  // Reads the body of an answer with head `h`, handing it to `sink` as it arrives.
  template <typename Sink>
  void read_body(const Head& h, const std::string& method, Sink&& sink) {
    auto header = [&](const char* name) {
      auto it = h.headers.find(name);
      return it == h.headers.end() ? std::string() : lower(it->second);
    };
    bool keep = header("connection").find("close") == std::string::npos;
    if (method == "HEAD" || h.status == 204 || h.status == 304) {
      // no body
    } else if (header("transfer-encoding").find("chunked") != std::string::npos) {
      for (;;) {
        std::string size_line = read_line();
        auto semi = size_line.find(';');
        std::string hex = size_line.substr(0, semi);
        if (hex.empty() || hex.find_first_not_of("0123456789abcdefABCDEF \t") != std::string::npos) {
          throw Error(ErrorCode::protocol, where() + " sent a malformed chunked answer");
        }
        std::uint64_t size = std::stoull(hex, nullptr, 16);
        if (size == 0) {
          while (!read_line().empty()) {  // trailers
          }
          break;
        }
        read_exact(size, sink);
        read_line();  // the CRLF after the chunk
      }
    } else if (!header("content-length").empty()) {
      read_exact(std::stoull(header("content-length")), sink);
    } else {
      // Until the server closes the connection.
      for (;;) {
        if (rpos < rbuf.size()) {
          sink(rbuf.data() + rpos, rbuf.size() - rpos);
          rpos = rbuf.size();
        }
        if (!fill()) break;
      }
      keep = false;
    }
    ++requests_done;
    if (!keep) disconnect();
  }

  // One request with retry: a reused keep-alive connection the server has closed while
  // idle fails before any answer; then the request goes again on a fresh connection.
  template <typename BodyWriter, typename Sink, typename OnHead>
  Head exchange(const std::string& method, const std::string& target, const std::string& content_type,
                std::uint64_t content_length, BodyWriter&& body_writer, Sink&& sink, OnHead&& on_head) {
    for (int attempt = 0;; ++attempt) {
      ensure_connected();
      const bool reused = requests_done > 0;
      Head h;
      try {
        h = send_and_read_head(method, target, content_type, content_length, body_writer);
      } catch (const Lost& l) {
        disconnect();
        if (reused && attempt == 0) continue;
        throw Error(ErrorCode::unavailable, "lost the connection to " + where() + ": " + l.why);
      } catch (...) {
        disconnect();
        throw;
      }
      on_head(h);
      try {
        read_body(h, method, sink);
      } catch (const Lost& l) {
        disconnect();
        throw Error(ErrorCode::unavailable, "lost the connection to " + where() + ": " + l.why);
      } catch (...) {
        disconnect();
        throw;
      }
      return h;
    }
  }

  std::string login_hint() const {
    return authorization.empty() ? " (sjs: log in with --user NAME and SJS_PASSWORD, or --token / SJS_TOKEN)"
                                 : " (sjs: check the user name and password, or the token)";
  }

  // The error an answer that is no protocol envelope stands for.
  Error status_error(int status, const std::string& reason, const std::string& body) const {
    std::string detail;
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_object()) {
      // spark-jobserver's shape {"status": "ERROR", "result": "message" | {message, ...}}
      const auto& r = j.contains("result") ? j["result"] : j;
      if (r.is_string()) detail = r.get<std::string>();
      else if (r.is_object() && r.contains("message") && r["message"].is_string()) detail = r["message"];
    }
    if (detail.empty()) {
      detail = body.substr(0, 200);
      while (!detail.empty() && std::isspace(static_cast<unsigned char>(detail.back()))) detail.pop_back();
    }
    const std::string what = "HTTP " + std::to_string(status) + (reason.empty() ? "" : " " + reason) +
                             (detail.empty() ? "" : ": " + detail);
    switch (status) {
      case 401:
        return Error(ErrorCode::unauthorized,
                     where() + " refused the request (" + what + ")" + login_hint());
      case 403:
        return Error(ErrorCode::forbidden, where() + " denied the request (" + what + ")");
      case 404:
        return Error(ErrorCode::protocol, where() + " does not serve sjs's API under /sjs/v1 (" + what +
                                              "): is the URL an sjsd's, with nothing after HOST:PORT?");
      case 413:
        return Error(ErrorCode::too_large, where() + " refused the request as too large (" + what + ")");
      case 502:
      case 503:
      case 504:
        return Error(ErrorCode::unavailable, where() + " is unavailable (" + what + ")");
      default:
        return Error(status >= 500 ? ErrorCode::internal : ErrorCode::protocol,
                     where() + " answered with " + what);
    }
  }

  // An RPC: the answer is NDJSON of envelopes (one envelope for an unstreamed op).
  template <typename BodyWriter>
  nlohmann::json rpc(const std::string& what, const std::string& target, const std::string& content_type,
                     std::uint64_t content_length, BodyWriter&& body_writer,
                     const std::function<void(const nlohmann::json&)>& on_part) {
    std::string pending;        // an incomplete line
    std::string raw;            // the body's start, for an answer that is not an envelope
    nlohmann::json final_env;   // null until the final envelope
    bool stray = false;         // a line that is no envelope
    int status = 0;
    auto on_line = [&](const std::string& line) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) return;
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("ok")) {
        stray = true;
        return;
      }
      if (!final_env.is_null()) return;
      if (j.value("ok", false) && j.value("more", false)) {
        if (status == 200 && on_part) on_part(j.contains("result") ? j["result"] : nlohmann::json::object());
        return;
      }
      final_env = std::move(j);
    };
    auto sink = [&](const char* data, std::size_t n) {
      if (raw.size() < 4096) raw.append(data, std::min<std::size_t>(n, 4096 - raw.size()));
      pending.append(data, n);
      std::size_t start = 0;
      for (;;) {
        auto nl = pending.find('\n', start);
        if (nl == std::string::npos) break;
        on_line(pending.substr(start, nl - start));
        start = nl + 1;
      }
      pending.erase(0, start);
      if (pending.size() > (256u << 20)) throw Error(ErrorCode::too_large, where() + " sent a line over 256 MiB");
    };
    auto on_head = [&](const Head& head) { status = head.status; };
    Head h = exchange("POST", target, content_type, content_length, body_writer, sink, on_head);
    if (!pending.empty()) on_line(pending);
    if (!final_env.is_null()) {
      try {
        Client::throw_if_error(final_env);
      } catch (const Error& e) {
        if (e.code() != ErrorCode::unauthorized) throw;
        throw Error(ErrorCode::unauthorized, std::string(e.what()) + login_hint());
      }
      return final_env.contains("result") ? final_env["result"] : nlohmann::json::object();
    }
    if (h.status >= 200 && h.status < 300 && !stray) {
      throw Error(ErrorCode::unavailable, where() + " ended its answer to " + what + " early (did it stop?)");
    }
    throw status_error(h.status, h.reason, raw);
  }
};

HttpClient::HttpClient(HttpClientOptions options) : m_impl(std::make_unique<Impl>(std::move(options))) {}

HttpClient::~HttpClient() = default;

const std::string& HttpClient::url() const { return m_impl->url.display; }

HelloResult HttpClient::hello(const std::string& client_name) {
  HelloArgs args;
  args.client = client_name;
  auto r = call(op::k_hello, args).get<HelloResult>();
  check_protocol(r);
  return r;
}

nlohmann::json HttpClient::call(const std::string& op, const nlohmann::json& args) {
  return call_stream(op, args, nullptr);
}

nlohmann::json HttpClient::call_stream(const std::string& op, const nlohmann::json& args,
                                       const std::function<void(const nlohmann::json&)>& on_part) {
  const std::string body = args.dump();
  auto writer = [&] { m_impl->write_all(body); };
  return m_impl->rpc(op, "/sjs/v1/" + percent_encode(op), "application/json", body.size(), writer, on_part);
}

nlohmann::json HttpClient::upload(const std::string& name, const std::string& path, const std::string& type) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorCode::bad_request, "cannot read " + path + ": " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    throw Error(ErrorCode::bad_request, "cannot upload " + path + ": not a regular file");
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  const auto slash = path.find_last_of('/');
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string target = "/sjs/v1/upload/" + percent_encode(name) + "?filename=" + percent_encode(base);
  if (!type.empty()) target += "&type=" + percent_encode(type);
  // Streams the file: a retry (a stale keep-alive connection) reads it again from the start.
  auto writer = [&] {
    std::vector<char> buf(256 << 10);
    std::uint64_t left = size;
    off_t off = 0;
    while (left > 0) {
      ssize_t n = ::pread(fd, buf.data(), std::min<std::uint64_t>(buf.size(), left), off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw Error(ErrorCode::bad_request, "cannot read " + path + ": " + std::strerror(errno));
      if (n == 0) throw Error(ErrorCode::bad_request, path + " shrank while it was uploaded");
      m_impl->write_all(buf.data(), static_cast<std::size_t>(n));
      off += n;
      left -= static_cast<std::uint64_t>(n);
    }
  };
  return m_impl->rpc(op::k_binary_upload, target, "application/octet-stream", size, writer, nullptr);
}

bool HttpClient::wait_closed(double timeout_s) {
  auto& m = *m_impl;
  if (m.fd < 0) return true;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long>(timeout_s * 1000));
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return false;
    pollfd p{m.fd, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    try {
      if (!m.fill()) {
        m.disconnect();
        return true;
      }
      m.rbuf.clear();  // nothing is expected; drop it
      m.rpos = 0;
    } catch (const Lost&) {
      m.disconnect();
      return true;
    }
  }
}

HttpClient::Response HttpClient::request(const std::string& method, const std::string& target, const std::string& body,
                                         const std::string& content_type) {
  Response r;
  auto writer = [&] { m_impl->write_all(body); };
  auto sink = [&](const char* d, std::size_t n) { r.body.append(d, n); };
  auto h = m_impl->exchange(method, target, body.empty() ? "" : content_type, body.size(), writer, sink,
                            [](const Impl::Head&) {});
  r.status = h.status;
  r.reason = h.reason;
  r.headers = h.headers;
  return r;
}

}  // namespace sjs

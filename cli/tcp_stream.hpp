// The CLI's connection to a remote sjsd: one blocking TCP socket, with TLS on it for
// https:// through OpenSSL loaded at run time (sjs/openssl_runtime.hpp). It is a Beast
// SyncReadStream and SyncWriteStream, so boost::beast::http reads and writes HTTP on it
// (cli/http_transport.cpp). The stream owns its socket and its TLS session; a TlsContext
// (the CA certificates, the verify mode) is shared by the connections of one transport.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>
#include <sys/uio.h>

struct ssl_st;
struct ssl_ctx_st;

namespace sjs::cli {

struct TlsOptions {
  std::string cacert;     // PEM file of CA certificates to trust besides the system's
  bool insecure = false;  // do not verify the server's certificate
};

// OpenSSL's SSL_CTX, created (and libssl loaded) on first use.
class TlsContext {
 public:
  explicit TlsContext(TlsOptions options) : m_options(std::move(options)) {}
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  const TlsOptions& options() const { return m_options; }
  // Throws Error(bad_request) if --cacert cannot be loaded, Error(unavailable) without libssl.
  ssl_ctx_st* get();

 private:
  TlsOptions m_options;
  ssl_ctx_st* m_ctx = nullptr;
};

class TcpStream {
 public:
  TcpStream() = default;
  ~TcpStream() { close(); }
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;

  // Connects to each address of host:port in turn, each within `timeout_s`. Throws
  // Error(unavailable) "cannot reach <where>: <why>".
  void connect(const std::string& host, std::uint16_t port, double timeout_s, const std::string& where);
  // TLS client handshake within `timeout_s`, with SNI and (unless insecure) the check that
  // the certificate names `host`. Throws Error(unavailable) saying what to do about it.
  void handshake(TlsContext& tls, const std::string& host, double timeout_s, const std::string& where);
  // Sends TLS's close_notify (if any) and closes the socket.
  void close();

  bool is_open() const { return m_fd >= 0; }
  bool is_tls() const { return m_ssl != nullptr; }
  int native_handle() const { return m_fd; }
  // OpenSSL's words for the last failed read or write under TLS ("" if none).
  const std::string& tls_error() const { return m_tls_error; }
  // The error of the last read_some or write_some (none if it succeeded): tells a failure
  // of the connection from one of what was being written (a file body).
  const boost::system::error_code& last_error() const { return m_last_error; }

  // SyncReadStream / SyncWriteStream. The end of the stream is boost::asio::error::eof.
  template <typename MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers, boost::system::error_code& ec) {
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers); ++it) {
      boost::asio::mutable_buffer b(*it);
      if (b.size() > 0) {
        const std::size_t n = read_raw(b.data(), b.size(), ec);
        m_last_error = ec;
        return n;
      }
    }
    ec = {};
    return 0;
  }
  template <typename MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers) {
    boost::system::error_code ec;
    std::size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
  template <typename ConstBuffers>
  std::size_t write_some(const ConstBuffers& buffers, boost::system::error_code& ec) {
    iovec iov[k_max_iov];
    std::size_t count = 0;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers) && count < k_max_iov; ++it) {
      boost::asio::const_buffer b(*it);
      if (b.size() > 0) iov[count++] = iovec{const_cast<void*>(b.data()), b.size()};
    }
    const std::size_t n = write_raw(iov, count, ec);
    m_last_error = ec;
    return n;
  }
  template <typename ConstBuffers>
  std::size_t write_some(const ConstBuffers& buffers) {
    boost::system::error_code ec;
    std::size_t n = write_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  static constexpr std::size_t k_max_iov = 16;
  std::size_t read_raw(void* data, std::size_t size, boost::system::error_code& ec);
  std::size_t write_raw(const iovec* iov, std::size_t count, boost::system::error_code& ec);
  void set_io_timeout(double seconds);

  int m_fd = -1;
  ssl_st* m_ssl = nullptr;
  std::string m_tls_error;
  boost::system::error_code m_last_error;
};

}  // namespace sjs::cli

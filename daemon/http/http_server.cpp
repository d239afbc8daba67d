#include "http/http_server.hpp"

#include <deque>
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

#include "sjs/errors.hpp"
#include "sjs/utf8.hpp"
#include "sjs/util.hpp"

namespace sjs {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// Bodies of these routes are streamed to a file: binaries and data files can be large.
bool streams_body(const std::string& method, const std::string& path) {
  if (method != "POST" && method != "PUT") return false;
  return starts_with(path, "/binaries/") || starts_with(path, "/jars/") || starts_with(path, "/data/") ||
         starts_with(path, "/sjs/v1/upload/");
}

void parse_target(HttpRequest& r) {
  const auto q = r.target.find('?');
  const std::string raw_path = r.target.substr(0, q);
  r.path = percent_decode(raw_path, false);
  std::size_t start = 0;
  while (start <= raw_path.size()) {
    auto slash = raw_path.find('/', start);
    std::string seg = raw_path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (!seg.empty()) r.segments.push_back(percent_decode(seg, false));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (q == std::string::npos) return;
  const std::string query = r.target.substr(q + 1);
  start = 0;
  while (start < query.size()) {
    auto amp = query.find('&', start);
    std::string pair = query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    if (!pair.empty()) {
      auto eq = pair.find('=');
      r.query.emplace(percent_decode(pair.substr(0, eq), true),
                      eq == std::string::npos ? "" : percent_decode(pair.substr(eq + 1), true));
    }
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
}

// "" when the percent-decoded path and query are valid UTF-8, else what is wrong and what to do.
std::string invalid_utf8_in_target(const HttpRequest& r) {
  auto check = [](const std::string& text, const char* what) -> std::string {
    const std::size_t bad = find_invalid_utf8(text);
    if (bad == std::string::npos) return "";
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[bad]));
    return std::string("the request's ") + what + " is not UTF-8 once percent-decoded (byte " + byte + " at " +
           std::to_string(bad) + "): percent-encode names and values as UTF-8";
  };
  std::string why = check(r.path, "path");
  for (auto it = r.query.begin(); why.empty() && it != r.query.end(); ++it) {
    why = check(it->first, "query");
    if (why.empty()) why = check(it->second, "query");
  }
  return why;
}

std::string error_body(const std::string& message) {
  return nlohmann::json{{"status", "ERROR"}, {"result", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

struct HttpServer::Impl {
  asio::io_context& io;
  HttpOptions options;
  HttpAuthenticator auth;
  HttpRouter router;
  tcp::acceptor acceptor;
  std::unique_ptr<asio::ssl::context> tls;
  asio::steady_timer accept_retry;  // after an accept error (out of file descriptors): try again soon
  bool stopped = false;
  bool accept_failing = false;      // logged once per run of failures

  Impl(asio::io_context& i, HttpOptions o, HttpAuthenticator a, HttpRouter r)
      : io(i), options(std::move(o)), auth(std::move(a)), router(std::move(r)), acceptor(i), accept_retry(i) {}
  void accept();
};

// One connection. Stream is beast::tcp_stream or beast::ssl_stream<beast::tcp_stream>.
template <typename Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>>, public HttpResponder {
 public:
  HttpSession(Stream stream, HttpServer::Impl& server, std::string remote)
      : m_stream(std::move(stream)), m_server(server), m_remote(std::move(remote)) {}

  void start() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      read_header();
    } else {
      auto self = this->shared_from_this();
      beast::get_lowest_layer(m_stream).expires_after(std::chrono::seconds(30));
      m_stream.async_handshake(asio::ssl::stream_base::server, [self](beast::error_code ec) {
        if (ec) return;  // not TLS, or a bad client: nothing to answer
        self->read_header();
      });
    }
  }

  // ---- HttpResponder ----
  void send(HttpResponse response) override {
    if (m_closed || m_answered) return;
    m_answered = true;
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(response.status), 11);
    res->set(http::field::server, "sjsd");
    res->set(http::field::content_type, response.content_type);
    if (m_server.options.on_response) m_server.options.on_response(m_request, response.status, response.headers);
    for (const auto& [k, v] : response.headers) res->set(k, v);
    res->keep_alive(m_keep_alive && !m_body_unread);
    res->body() = std::move(response.body);
    res->prepare_payload();
    auto self = this->shared_from_this();
    beast::get_lowest_layer(m_stream).expires_after(std::chrono::seconds(60));  // a client that stops reading
    http::async_write(m_stream, *res, [self, res](beast::error_code ec, std::size_t) {
      self->cleanup_upload();
      if (ec) return self->close();
      if (!res->keep_alive()) return self->close();
      self->read_header();
    });
  }

  void begin_stream(int status, const std::string& content_type) override {
    if (m_closed || m_answered) return;
    m_answered = true;
    m_streaming = true;
    auto res = std::make_shared<http::response<http::empty_body>>(static_cast<http::status>(status), 11);
    res->set(http::field::server, "sjsd");
    res->set(http::field::content_type, content_type);
    if (m_server.options.on_response) {
      std::vector<std::pair<std::string, std::string>> headers;
      m_server.options.on_response(m_request, status, headers);
      for (const auto& [k, v] : headers) res->set(k, v);
    }
    res->chunked(true);
    m_stream_header = res;
    m_serializer = std::make_shared<http::response_serializer<http::empty_body>>(*res);
    auto self = this->shared_from_this();
    beast::get_lowest_layer(m_stream).expires_never();
    m_pending_writes++;
    http::async_write_header(m_stream, *m_serializer, [self](beast::error_code ec, std::size_t) {
      self->m_pending_writes--;
      if (ec) return self->close();
      self->flush_chunks();
    });
  }

  void write_chunk(const std::string& data) override {
    if (m_closed || !m_streaming || data.empty()) return;
    m_chunks.push_back(data);
    flush_chunks();
  }

  void end_stream() override {
    if (m_closed || !m_streaming) return;
    m_stream_ending = true;
    flush_chunks();
  }

  bool open() const override { return !m_closed; }

 private:
  void flush_chunks() {
    if (m_pending_writes > 0 || m_closed) return;
    auto self = this->shared_from_this();
    if (!m_chunks.empty()) {
      auto data = std::make_shared<std::string>(std::move(m_chunks.front()));
      m_chunks.pop_front();
      m_pending_writes++;
      asio::async_write(m_stream, http::make_chunk(asio::buffer(*data)), [self, data](beast::error_code ec, std::size_t) {
        self->m_pending_writes--;
        if (ec) return self->close();
        self->flush_chunks();
      });
      return;
    }
    if (m_stream_ending) {
      m_stream_ending = false;
      m_pending_writes++;
      asio::async_write(m_stream, http::make_chunk_last(), [self](beast::error_code ec, std::size_t) {
        self->m_pending_writes--;
        self->m_streaming = false;
        if (ec || !self->m_keep_alive) return self->close();
        self->read_header();
      });
    }
  }

  // Waits (up to the idle timeout) for the first bytes of the next request, then gives the rest of
  // its header http.header-timeout-seconds: an idle keep-alive connection may wait long, a header
  // that trickles in may not.
  void read_header() {
    if (m_closed) return;
    m_answered = false;
    m_header_parser.emplace();
    m_header_parser->header_limit(m_server.options.max_header_bytes);
    m_header_parser->body_limit(m_server.options.max_body_bytes);
    m_header_started = m_buffer.size() > 0;  // a pipelined request is already here
    beast::get_lowest_layer(m_stream).expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(
        (m_header_started ? m_server.options.header_timeout_s : m_server.options.idle_timeout_s) * 1000)));
    read_request_line();
  }

  // Reads until the request line is whole (414 past max_target_bytes), then the rest of the header.
  void read_request_line() {
    const auto data = m_buffer.cdata();
    const std::string_view text(static_cast<const char*>(data.data()), data.size());
    if (text.find("\r\n") != std::string_view::npos || text.find('\n') != std::string_view::npos) return read_header_rest();
    if (text.size() > m_server.options.max_target_bytes + 64) {
      return reject(414, "the request line is over the limit of " + std::to_string(m_server.options.max_target_bytes) +
                             " bytes");
    }
    auto self = this->shared_from_this();
    m_stream.async_read_some(m_buffer.prepare(4096), [self](beast::error_code ec, std::size_t n) {
      if (ec == beast::error::timeout && self->m_header_started) return self->header_timed_out();
      if (ec) return self->close();  // idle past the timeout, or gone
      self->m_buffer.commit(n);
      if (!self->m_header_started) {
        self->m_header_started = true;
        beast::get_lowest_layer(self->m_stream)
            .expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(self->m_server.options.header_timeout_s * 1000)));
      }
      self->read_request_line();
    });
  }

  // The stream's timer has closed the socket already: nothing can be answered (a slow-header client
  // is not waiting for one), only logged.
  void header_timed_out() {
    spdlog::info("http: closed a connection from {} whose request header did not arrive within {} s "
                 "(http.header-timeout-seconds)",
                 m_remote, m_server.options.header_timeout_s);
    close();
  }

  void read_header_rest() {
    // Usually the whole header came with the first read: parse it here, with no more I/O.
    beast::error_code ec;
    while (m_buffer.size() > 0 && !m_header_parser->is_header_done()) {
      const std::size_t used = m_header_parser->put(m_buffer.data(), ec);
      m_buffer.consume(used);
      if (ec == http::error::need_more) {
        ec = {};
        break;
      }
      if (ec || used == 0) break;
    }
    if (ec) return header_error(ec);
    if (m_header_parser->is_header_done()) return on_header();
    auto self = this->shared_from_this();
    http::async_read_header(m_stream, m_buffer, *m_header_parser, [self](beast::error_code ec2, std::size_t) {
      if (ec2) return self->header_error(ec2);
      self->on_header();
    });
  }

  void header_error(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof) return close();
    if (ec == beast::error::timeout) return header_timed_out();
    if (ec == http::error::body_limit) {  // a Content-Length over the limit, seen with the header
      return reject(413, "request body is over the limit of " + std::to_string(m_server.options.max_body_bytes) +
                             " bytes (http.max-body-mb in sjsd.conf)");
    }
    if (ec == http::error::header_limit) {
      return reject(431, "the request header is over the limit of " + std::to_string(m_server.options.max_header_bytes) +
                             " bytes");
    }
    reject(400, "bad request: " + ec.message());
  }

  void reject(int status, const std::string& message) {
    m_keep_alive = false;
    HttpResponse r;
    r.status = status;
    r.body = error_body(message);
    m_answered = false;
    send(std::move(r));
  }

  void on_header() {
    auto& h = m_header_parser->get();
    m_request = HttpRequest{};
    m_request.method = std::string(h.method_string());
    m_request.target = std::string(h.target());
    m_request.remote = m_remote;
    if (m_request.target.size() > m_server.options.max_target_bytes) {
      return reject(414, "the request target is over the limit of " + std::to_string(m_server.options.max_target_bytes) +
                             " bytes");
    }
    for (const auto& f : h) {
      std::string name(f.name_string());
      name = ascii_lower(std::move(name));
      m_request.headers[name] = std::string(f.value());
    }
    m_keep_alive = h.keep_alive();
    parse_target(m_request);
    // ?_method=DELETE|PUT on a POST stands for that method (spark-jobserver clients use it).
    auto override_method = m_request.query_value("_method");
    if (m_request.method == "POST" && !override_method.empty()) {
      for (auto& c : override_method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      m_request.method = override_method;
    }
    if (m_request.path.find('\0') != std::string::npos) return reject(400, "the path may not contain a NUL byte");
    // Names and values go into JSON (records, answers, logs): text that is not UTF-8 is refused here.
    // (Found by fuzzing: such bytes reached a JSON writer, which throws on them.)
    if (auto bad = invalid_utf8_in_target(m_request); !bad.empty()) return reject(400, bad);
    // Until its body is read, an answer closes the connection: the unread body would be taken for the
    // next request.
    m_body_unread = !m_header_parser->is_done();
    if (!m_server.auth) return after_auth();
    // Credentials are checked before the body is read: an unauthenticated upload is refused at its
    // header, and nothing of it is stored.
    auto self = this->shared_from_this();
    m_server.auth(m_request, self, [self] { self->after_auth(); });
  }

  void after_auth() {
    if (m_closed) return;
    if (m_header_parser->get()[http::field::expect] == "100-continue") {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      auto self = this->shared_from_this();
      http::async_write(m_stream, *cont, [self, cont](beast::error_code ec, std::size_t) {
        if (ec) return self->close();
        self->read_body();
      });
      return;
    }
    read_body();
  }

  void read_body() {
    auto self = this->shared_from_this();
    beast::get_lowest_layer(m_stream).expires_after(std::chrono::minutes(30));  // large uploads take time
    if (streams_body(std::string(m_header_parser->get().method_string()), m_request.path) &&
        !m_server.options.upload_dir.empty()) {
      // A disk already (nearly) full refuses the upload at its header, before any of it is read.
      try {
        check_disk_room(m_server.options.upload_dir);
      } catch (const Error& e) {
        return reject(507, e.what());
      }
      m_file_parser.emplace(std::move(*m_header_parser));
      m_upload = m_server.options.upload_dir + "/http-" + make_uuid();
      beast::error_code ec;
      m_file_parser->get().body().open(m_upload.c_str(), beast::file_mode::write, ec);
      if (ec) {
        if (is_disk_full(ec.value())) return reject(507, write_error(m_upload, ec.value()).what());
        return reject(500, "cannot store the upload: " + ec.message());
      }
      http::async_read(m_stream, m_buffer, *m_file_parser, [self](beast::error_code ec2, std::size_t) {
        self->m_file_parser->get().body().close();
        if (ec2) return self->on_body_error(ec2);
        self->m_request.body_file = self->m_upload;
        self->dispatch();
      });
    } else {
      m_string_parser.emplace(std::move(*m_header_parser));
      m_string_parser->body_limit(std::min<std::uint64_t>(m_server.options.max_body_bytes, 64u << 20));
      http::async_read(m_stream, m_buffer, *m_string_parser, [self](beast::error_code ec, std::size_t) {
        if (ec) return self->on_body_error(ec);
        self->m_request.body = std::move(self->m_string_parser->get().body());
        self->dispatch();
      });
    }
  }

  void on_body_error(beast::error_code ec) {
    const std::string upload = m_upload;
    cleanup_upload();
    // The streamed body's file could not be written: the disk under the data dir is full.
    if (!upload.empty() && ec.category() == beast::system_category() && is_disk_full(ec.value())) {
      return reject(507, write_error(upload, ec.value()).what());
    }
    if (ec == http::error::body_limit) {
      return reject(413, "request body is over the limit of " + std::to_string(m_server.options.max_body_bytes) +
                             " bytes (http.max-body-mb in sjsd.conf)");
    }
    if (ec == http::error::partial_message) {
      // The client stopped sending mid-body (a half-closed connection can still read the answer).
      return reject(400, "truncated request body: the connection ended before the Content-Length bytes arrived");
    }
    if (ec == http::error::end_of_stream || ec == asio::error::eof) {
      return close();  // the client went away: nobody to answer
    }
    reject(400, "bad request body: " + ec.message());
  }

  void dispatch() {
    m_body_unread = false;
    beast::get_lowest_layer(m_stream).expires_never();  // a sync job may take as long as its own timeout
    auto self = this->shared_from_this();
    try {
      m_server.router(m_request, self);
    } catch (const std::exception& e) {
      spdlog::error("http {} {}: {}", m_request.method, m_request.path, e.what());
      if (!m_answered) {
        HttpResponse r;
        r.status = 500;
        r.body = nlohmann::json{{"status", "ERROR"},
                                {"result", {{"message", e.what()}, {"errorClass", "sjs.Internal"}, {"stack", nlohmann::json::array()}}}}
                     .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        send(std::move(r));
      }
    }
  }

  void cleanup_upload() {
    if (!m_upload.empty()) {
      std::error_code ec;
      std::filesystem::remove(m_upload, ec);  // ingest moved it already if it was kept
      m_upload.clear();
    }
  }

  void close() {
    if (m_closed) return;
    m_closed = true;
    cleanup_upload();
    beast::error_code ec;
    beast::get_lowest_layer(m_stream).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(m_stream).close();
  }

  Stream m_stream;
  HttpServer::Impl& m_server;
  std::string m_remote;
  beast::flat_buffer m_buffer;
  std::optional<http::request_parser<http::empty_body>> m_header_parser;
  std::optional<http::request_parser<http::string_body>> m_string_parser;
  std::optional<http::request_parser<http::file_body>> m_file_parser;
  HttpRequest m_request;
  std::string m_upload;
  bool m_keep_alive = true;
  bool m_header_started = false;  // the next request's first bytes arrived: the header timeout runs
  bool m_body_unread = false;
  bool m_closed = false;
  bool m_answered = false;
  bool m_streaming = false;
  bool m_stream_ending = false;
  int m_pending_writes = 0;
  std::deque<std::string> m_chunks;
  std::shared_ptr<http::response<http::empty_body>> m_stream_header;
  std::shared_ptr<http::response_serializer<http::empty_body>> m_serializer;
};

void HttpServer::Impl::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (stopped) return;
    if (ec && ec != asio::error::operation_aborted) {
      // Out of file descriptors (EMFILE/ENFILE) or memory: new connections wait in the listen queue
      // until some close; retrying at once would spin.
      if (!accept_failing) spdlog::warn("http: cannot accept connections ({}): retrying every 100 ms", ec.message());
      accept_failing = true;
      accept_retry.expires_after(std::chrono::milliseconds(100));
      accept_retry.async_wait([this](const beast::error_code& e) {
        if (!e && !stopped) accept();
      });
      return;
    }
    if (!ec && accept_failing) {
      spdlog::info("http: accepting connections again");
      accept_failing = false;
    }
    if (!ec) {
      std::string remote;
      beast::error_code rec;
      auto ep = socket.remote_endpoint(rec);
      if (!rec) remote = ep.address().to_string();
      socket.set_option(tcp::no_delay(true), rec);
      if (tls) {
        using S = beast::ssl_stream<beast::tcp_stream>;
        std::make_shared<HttpSession<S>>(S(beast::tcp_stream(std::move(socket)), *tls), *this, remote)->start();
      } else {
        std::make_shared<HttpSession<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), *this, remote)->start();
      }
    } else if (ec == asio::error::operation_aborted) {
      return;
    }
    accept();
  });
}

HttpServer::HttpServer(asio::io_context& io, HttpOptions options, HttpAuthenticator auth, HttpRouter router)
    : m_impl(std::make_unique<Impl>(io, std::move(options), std::move(auth), std::move(router))) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
  auto& o = m_impl->options;
  if (!o.tls_cert.empty() || !o.tls_key.empty()) {
    if (o.tls_cert.empty() || o.tls_key.empty()) {
      throw Error(ErrorCode::bad_request, "TLS needs both http.tls-cert and http.tls-key");
    }
    m_impl->tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    m_impl->tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                             asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                             asio::ssl::context::no_tlsv1_1);
    beast::error_code ec;
    m_impl->tls->use_certificate_chain_file(o.tls_cert, ec);
    if (ec) throw Error(ErrorCode::bad_request, "cannot load TLS certificate " + o.tls_cert + ": " + ec.message());
    m_impl->tls->use_private_key_file(o.tls_key, asio::ssl::context::pem, ec);
    if (ec) throw Error(ErrorCode::bad_request, "cannot load TLS key " + o.tls_key + ": " + ec.message());
  }
  beast::error_code ec;
  auto address = asio::ip::make_address(o.address, ec);
  if (ec) throw Error(ErrorCode::bad_request, "bad HTTP address \"" + o.address + "\": " + ec.message());
  tcp::endpoint ep(address, o.port);
  m_impl->acceptor.open(ep.protocol(), ec);
  if (!ec) m_impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) m_impl->acceptor.bind(ep, ec);
  if (!ec) m_impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw Error(ErrorCode::in_use, "cannot listen for HTTP on " + o.address + ":" + std::to_string(o.port) + ": " +
                                       ec.message());
  }
  m_impl->accept();
}

void HttpServer::stop() {
  if (!m_impl || m_impl->stopped) return;
  m_impl->stopped = true;
  m_impl->accept_retry.cancel();
  beast::error_code ec;
  m_impl->acceptor.close(ec);
}

unsigned short HttpServer::port() const {
  beast::error_code ec;
  auto ep = m_impl->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

}  // namespace sjs

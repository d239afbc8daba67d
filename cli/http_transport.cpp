#include "http_transport.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <optional>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <boost/beast/core/file.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "sjs/client.hpp"
#include "sjs/errors.hpp"
#include "sjs/url.hpp"
#include "tcp_stream.hpp"

namespace sjs::cli {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;

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

// --url: sjs's API is under <url>/sjs/v1, so a path is a prefix; a query or fragment is refused.
Url parse_remote_url(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return Error(ErrorCode::usage,
                 "bad --url \"" + text + "\": " + why + " (expected http://HOST:PORT or https://HOST:PORT)");
  };
  Url u;
  try {
    u = parse_url(text);
  } catch (const Error& e) {
    throw bad(e.what());
  }
  if (u.has_query || u.has_fragment) throw bad("a query or fragment is not allowed");
  while (!u.path.empty() && u.path.back() == '/') u.path.pop_back();
  return u;
}

// An I/O failure on the connection: the request may be retried on a fresh one if it
// happened before any byte of the answer arrived on a reused connection.
struct Lost {
  std::string why;
};

// An answer is read with buffer_body: its body is handed on as it arrives, never kept whole.
using Parser = http::response_parser<http::buffer_body>;

bool is_http_error(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::end_of_stream).category();
}

}  // namespace

// ---- the connection --------------------------------------------------------------------

struct HttpTransport::Impl {
  HttpTransportOptions options;
  Url url;                    // the path is the prefix of every target, without a trailing '/'
  std::string display;        // the URL without credentials
  std::string authorization;  // the header's value, "" for none
  TlsContext tls;
  TcpStream stream;
  beast::flat_buffer buffer;  // received, not parsed yet
  int requests_done = 0;      // on the open connection

  explicit Impl(HttpTransportOptions o)
      : options(std::move(o)), url(parse_remote_url(options.url)), tls(TlsOptions{options.cacert, options.insecure}) {
    display = url.origin() + url.path;
    std::string user = options.user.empty() ? url.user : options.user;
    std::string password = options.user.empty() ? url.password : options.password;
    if (!options.token.empty()) {
      authorization = "Bearer " + options.token;
    } else if (!user.empty()) {
      authorization = "Basic " + base64(user + ":" + password);
    }
  }

  std::string where() const { return "sjsd at " + display; }

  void disconnect() {
    stream.close();
    buffer.consume(buffer.size());
    requests_done = 0;
  }

  void ensure_connected() {
    if (stream.is_open()) return;
    stream.connect(url.host, url.port, options.connect_timeout_s, where());
    if (!url.tls) return;
    try {
      stream.handshake(tls, url.host, options.connect_timeout_s, where());
    } catch (...) {
      disconnect();
      throw;
    }
  }

  // ---- errors while reading an answer ----

  // An I/O error (the connection closed or failed) as Lost; anything else the parser
  // refused as Error(protocol).
  [[noreturn]] void throw_read_error(const beast::error_code& ec, const std::string& write_failure = {}) {
    if (ec == http::error::header_limit) {
      throw Error(ErrorCode::protocol, where() + " sent a header over 64 KiB");
    }
    if (!is_http_error(ec) || ec == http::error::end_of_stream || ec == http::error::partial_message) {
      if (!write_failure.empty()) throw Lost{write_failure};
      if (!stream.tls_error().empty()) throw Lost{stream.tls_error()};
      if (ec == http::error::end_of_stream) throw Lost{"the connection closed"};
      if (ec == http::error::partial_message) throw Lost{"the connection closed in the middle of an answer"};
      throw Lost{ec.message()};
    }
    // What it said instead of HTTP: the start of its first line.
    const auto data = buffer.data();
    std::string said(static_cast<const char*>(data.data()), std::min<std::size_t>(data.size(), 60));
    said = said.substr(0, said.find_first_of("\r\n"));
    for (auto& c : said) {
      if (static_cast<unsigned char>(c) < ' ' || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    }
    throw Error(ErrorCode::protocol, where() + " does not speak HTTP/1.1 (it answered \"" + said + "\": " +
                                         ec.message() + ")" + (url.tls ? "" : ": does it serve https:// only?"));
  }

  // ---- one exchange ----

  struct Head {
    unsigned status = 0;
    std::string reason;
  };

  // Sends `req` and reads the head of its answer into a new `parser`.
  template <typename Request>
  Head send_and_read_head(Request& req, const std::string& body_name, std::optional<Parser>& parser) {
    std::string write_failure;
    beast::error_code wec;
    http::write(stream, req, wec);
    if (wec && wec != stream.last_error()) {
      // Not the connection: the body's source (the file being uploaded).
      throw Error(ErrorCode::bad_request, "cannot read " + body_name + ": " + wec.message());
    }
    // The server may have answered and closed early (413, 401): read what it said.
    if (wec) write_failure = stream.tls_error().empty() ? wec.message() : stream.tls_error();
    for (;;) {
      parser.emplace();
      parser->header_limit(64u << 10);
      // Streamed to a sink; rpc() bounds a line. (Not boost::none: Boost 1.74 then refuses every body.)
      parser->body_limit(std::numeric_limits<std::uint64_t>::max());
      if (req.method() == http::verb::head) parser->skip(true);
      beast::error_code ec;
      http::read_header(stream, buffer, *parser, ec);
      if (ec) throw_read_error(ec, write_failure);
      const auto& res = parser->get();
      if (res.result_int() >= 100 && res.result_int() < 200) continue;  // 100 Continue and friends
      return Head{res.result_int(), std::string(res.reason())};
    }
  }

  // Reads the rest of the answer, handing its body to `sink` as it arrives.
  template <typename Sink>
  void read_body(Parser& parser, Sink&& sink) {
    std::vector<char> chunk(64u << 10);
    while (!parser.is_done()) {
      parser.get().body().data = chunk.data();
      parser.get().body().size = chunk.size();
      beast::error_code ec;
      http::read_some(stream, buffer, parser, ec);
      if (ec == http::error::need_buffer) ec = {};
      const std::size_t got = chunk.size() - parser.get().body().size;
      if (got > 0) sink(chunk.data(), got);
      if (ec) throw_read_error(ec);
    }
    ++requests_done;
    if (!parser.keep_alive()) disconnect();
  }

  template <typename Request>
  void decorate(Request& req) {
    req.version(11);
    req.set(http::field::host, url.host_port());
    req.set(http::field::user_agent, options.user_agent);
    req.set(http::field::accept, "application/json, application/x-ndjson");
    if (!authorization.empty()) req.set(http::field::authorization, authorization);
    req.prepare_payload();
  }

  // One request with retry: a reused keep-alive connection the server has closed while
  // idle fails before any answer; then the request goes again on a fresh connection.
  // `make_request` makes the request anew for each attempt (an upload reopens its file).
  template <typename MakeRequest, typename Sink, typename OnHead>
  Head exchange(MakeRequest&& make_request, const std::string& body_name, Sink&& sink, OnHead&& on_head) {
    for (int attempt = 0;; ++attempt) {
      ensure_connected();
      const bool reused = requests_done > 0;
      std::optional<Parser> parser;
      Head h;
      try {
        auto req = make_request();
        req.target(url.path + std::string(req.target()));
        decorate(req);
        h = send_and_read_head(req, body_name, parser);
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
        read_body(*parser, sink);
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
  Error status_error(unsigned status, const std::string& reason, const std::string& body) const {
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
        return Error(ErrorCode::unauthorized, where() + " refused the request (" + what + ")" + login_hint());
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
        return Error(status >= 500 ? ErrorCode::internal : ErrorCode::protocol, where() + " answered with " + what);
    }
  }

  // An RPC: the answer is NDJSON of envelopes (one envelope for an unstreamed op).
  template <typename MakeRequest>
  nlohmann::json rpc(const std::string& what, MakeRequest&& make_request, const std::string& body_name,
                     const std::function<void(const nlohmann::json&)>& on_part) {
    std::string pending;        // an incomplete line
    std::string raw;            // the body's start, for an answer that is not an envelope
    nlohmann::json final_env;   // null until the final envelope
    bool stray = false;         // a line that is no envelope
    unsigned status = 0;
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
    Head h = exchange(make_request, body_name, sink, on_head);
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

HttpTransport::HttpTransport(HttpTransportOptions options) : m_impl(std::make_unique<Impl>(std::move(options))) {}

HttpTransport::~HttpTransport() = default;

const std::string& HttpTransport::url() const { return m_impl->display; }

HelloResult HttpTransport::hello(const std::string& client_name) {
  HelloArgs args;
  args.client = client_name;
  auto r = call(op::k_hello, args).get<HelloResult>();
  check_protocol(r);
  return r;
}

nlohmann::json HttpTransport::call(const std::string& op, const nlohmann::json& args) {
  return call_stream(op, args, nullptr);
}

nlohmann::json HttpTransport::call_stream(const std::string& op, const nlohmann::json& args,
                                          const std::function<void(const nlohmann::json&)>& on_part) {
  const std::string body = args.dump();
  const std::string target = "/sjs/v1/" + percent_encode(op);
  auto make_request = [&] {
    http::request<http::string_body> req{http::verb::post, target, 11};
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    return req;
  };
  return m_impl->rpc(op, make_request, "the request", on_part);
}

nlohmann::json HttpTransport::upload(const std::string& name, const std::string& path, const std::string& type) {
  {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(ErrorCode::bad_request, "cannot read " + path + ": " + std::strerror(errno));
    struct stat st {};
    const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    ::close(fd);
    if (!regular) throw Error(ErrorCode::bad_request, "cannot upload " + path + ": not a regular file");
  }
  const auto slash = path.find_last_of('/');
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string target = "/sjs/v1/upload/" + percent_encode(name) + "?filename=" + percent_encode(base);
  if (!type.empty()) target += "&type=" + percent_encode(type);
  // The file is streamed by Beast's file_body; a retry (a stale keep-alive connection) opens it again.
  auto make_request = [&] {
    http::request<http::file_body> req{http::verb::post, target, 11};
    req.set(http::field::content_type, "application/octet-stream");
    beast::error_code ec;
    req.body().open(path.c_str(), beast::file_mode::scan, ec);
    if (ec) throw Error(ErrorCode::bad_request, "cannot read " + path + ": " + ec.message());
    return req;
  };
  return m_impl->rpc(op::k_binary_upload, make_request, path, nullptr);
}

bool HttpTransport::wait_closed(double timeout_s) {
  auto& m = *m_impl;
  if (!m.stream.is_open()) return true;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long>(timeout_s * 1000));
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return false;
    pollfd p{m.stream.native_handle(), POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    char buf[4096];
    beast::error_code ec;
    m.stream.read_some(boost::asio::buffer(buf), ec);  // nothing is expected: what comes is dropped
    if (ec) {
      m.disconnect();
      return true;
    }
  }
}

}  // namespace sjs::cli

#include "http/callbacks.hpp"

#include <chrono>
#include <cmath>
#include <memory>

#include <openssl/ssl.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

#include "sjs/errors.hpp"
#include "sjs/url.hpp"

namespace sjs {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

CallbackTarget parse_callback_url(const std::string& url) {
  auto fail = [&](const std::string& why) {
    return Error(ErrorCode::bad_request, "invalid callbackUrl \"" + url.substr(0, 200) + "\": " + why);
  };
  Url u;
  try {
    u = parse_url(url);
  } catch (const Error& e) {
    throw fail(e.what());
  }
  if (u.has_userinfo) throw fail("credentials in the URL are not supported");
  CallbackTarget t;
  t.tls = u.tls;
  t.host = u.host;
  t.port = std::to_string(u.port);
  t.target = (u.path.empty() ? "/" : u.path) + (u.has_query ? "?" + u.query : "");  // the fragment stays here
  return t;
}

namespace {

asio::ssl::context& client_tls_context() {
  static asio::ssl::context ctx = [] {
    asio::ssl::context c(asio::ssl::context::tls_client);
    c.set_default_verify_paths();
    c.set_verify_mode(asio::ssl::verify_peer);
    return c;
  }();
  return ctx;
}

class CallbackCall : public std::enable_shared_from_this<CallbackCall> {
 public:
  CallbackCall(asio::io_context& io, std::string url, CallbackTarget target, std::string body, CallbackOptions options,
               std::function<void()> finished)
      : m_io(io),
        m_url(std::move(url)),
        m_target(std::move(target)),
        m_body(std::move(body)),
        m_options(options),
        m_finished(std::move(finished)),
        m_resolver(io),
        m_timer(io) {}

  void attempt() {
    ++m_attempt;
    auto self = shared_from_this();
    m_resolver.async_resolve(m_target.host, m_target.port,
                             [self](const beast::error_code& ec, tcp::resolver::results_type results) {
                               if (ec) return self->retry("cannot resolve " + self->m_target.host + ": " + ec.message());
                               self->connect(results);
                             });
  }

 private:
  std::chrono::milliseconds attempt_timeout() const {
    return std::chrono::milliseconds(static_cast<std::int64_t>(m_options.attempt_timeout_s * 1000));
  }

  void connect(const tcp::resolver::results_type& results) {
    auto self = shared_from_this();
    if (!m_target.tls) {
      auto stream = std::make_shared<beast::tcp_stream>(m_io);
      stream->expires_after(attempt_timeout());
      stream->async_connect(results, [self, stream](const beast::error_code& ec, const tcp::endpoint&) {
        if (ec) return self->retry("cannot connect: " + ec.message());
        self->exchange(stream);
      });
      return;
    }
    using TlsStream = beast::ssl_stream<beast::tcp_stream>;
    auto stream = std::make_shared<TlsStream>(m_io, client_tls_context());
    if (!SSL_set_tlsext_host_name(stream->native_handle(), m_target.host.c_str())) {
      return retry("cannot set the TLS server name");
    }
    stream->set_verify_callback(asio::ssl::host_name_verification(m_target.host));
    beast::get_lowest_layer(*stream).expires_after(attempt_timeout());
    beast::get_lowest_layer(*stream).async_connect(
        results, [self, stream](const beast::error_code& ec, const tcp::endpoint&) {
          if (ec) return self->retry("cannot connect: " + ec.message());
          stream->async_handshake(asio::ssl::stream_base::client, [self, stream](const beast::error_code& hec) {
            if (hec) return self->retry("TLS handshake failed: " + hec.message());
            self->exchange(stream);
          });
        });
  }

  template <typename Stream>
  void exchange(const std::shared_ptr<Stream>& stream) {
    auto self = shared_from_this();
    auto req = std::make_shared<http::request<http::string_body>>(http::verb::post, m_target.target, 11);
    const bool default_port = m_target.port == (m_target.tls ? "443" : "80");
    const bool v6 = m_target.host.find(':') != std::string::npos;
    const std::string host = v6 ? "[" + m_target.host + "]" : m_target.host;
    req->set(http::field::host, default_port ? host : host + ":" + m_target.port);
    req->set(http::field::user_agent, std::string("sjsd/") + SJS_VERSION);
    req->set(http::field::content_type, "application/json");
    req->keep_alive(false);
    req->body() = m_body;
    req->prepare_payload();
    http::async_write(*stream, *req, [self, stream, req](const beast::error_code& ec, std::size_t) {
      if (ec) return self->retry("cannot send: " + ec.message());
      auto buffer = std::make_shared<beast::flat_buffer>();
      auto res = std::make_shared<http::response<http::string_body>>();
      http::async_read(*stream, *buffer, *res, [self, stream, buffer, res](const beast::error_code& rec, std::size_t) {
        beast::error_code ignored;
        beast::get_lowest_layer(*stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
        if (rec) return self->retry("no answer: " + rec.message());
        const unsigned status = res->result_int();
        if (status >= 400) return self->retry("answered HTTP " + std::to_string(status));
        spdlog::info("callback to {} delivered (HTTP {}, attempt {})", self->m_url, status, self->m_attempt);
        self->finish();
      });
    });
  }

  void retry(const std::string& why) {
    if (m_attempt >= m_options.attempts) {
      spdlog::warn("callback to {} failed after {} attempt(s): {}", m_url, m_attempt, why);
      return finish();
    }
    const double delay = m_options.first_delay_s * std::pow(2.0, m_attempt - 1);
    spdlog::info("callback to {}: attempt {} failed ({}); trying again in {} s", m_url, m_attempt, why, delay);
    m_timer.expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(delay * 1000)));
    auto self = shared_from_this();
    m_timer.async_wait([self](const beast::error_code& ec) {
      if (!ec) self->attempt();
    });
  }

  void finish() {
    if (auto f = std::move(m_finished)) f();
  }

  asio::io_context& m_io;
  std::string m_url;
  CallbackTarget m_target;
  std::string m_body;
  CallbackOptions m_options;
  std::function<void()> m_finished;
  tcp::resolver m_resolver;
  asio::steady_timer m_timer;
  int m_attempt = 0;
};

}  // namespace

void send_callback(asio::io_context& io, const std::string& url, const nlohmann::json& body, CallbackOptions options,
                   std::function<void()> finished) {
  CallbackTarget target;
  try {
    target = parse_callback_url(url);
  } catch (const Error& e) {
    spdlog::warn("callback not sent: {}", e.what());
    if (finished) finished();
    return;
  }
  if (options.attempts < 1) options.attempts = 1;
  auto call = std::make_shared<CallbackCall>(io, url, std::move(target), body.dump(), options, std::move(finished));
  call->attempt();
}

}  // namespace sjs

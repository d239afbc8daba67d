#include "control_client.hpp"

#include <chrono>
#include <memory>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>


namespace sjs {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

class ControlCallOp : public std::enable_shared_from_this<ControlCallOp> {
 public:
  ControlCallOp(asio::io_context& io, ControlRequest request, std::function<void(ControlAnswer)> done)
      : m_request(std::move(request)), m_done(std::move(done)), m_resolver(io), m_stream(io) {}

  void start() {
    auto self = shared_from_this();
    m_deadline = std::chrono::steady_clock::now() +
                 std::chrono::milliseconds(static_cast<std::int64_t>(m_request.timeout_s * 1000));
    m_stream.expires_at(m_deadline);
    m_resolver.async_resolve(m_request.host, std::to_string(m_request.port),
                             [self](const beast::error_code& ec, tcp::resolver::results_type results) {
                               if (ec) return self->finish("cannot resolve " + self->m_request.host + ": " + ec.message());
                               self->connect(results);
                             });
  }

 private:
  void connect(const tcp::resolver::results_type& results) {
    auto self = shared_from_this();
    m_stream.expires_at(m_deadline);
    m_stream.async_connect(results, [self](const beast::error_code& ec, const tcp::endpoint&) {
      if (ec) return self->finish("cannot connect: " + ec.message());
      self->send();
    });
  }

  void send() {
    auto self = shared_from_this();
    m_req.method(m_request.method == "POST" ? http::verb::post : http::verb::get);
    m_req.target(m_request.target);
    m_req.version(11);
    m_req.set(http::field::host, m_request.host + ":" + std::to_string(m_request.port));
    m_req.set(http::field::user_agent, std::string("sjsd/") + SJS_VERSION);
    m_req.set(http::field::connection, "close");
    m_req.prepare_payload();
    http::async_write(m_stream, m_req, [self](const beast::error_code& ec, std::size_t) {
      if (ec) return self->finish("cannot send: " + ec.message());
      self->m_parser.body_limit(1 << 20);
      http::async_read(self->m_stream, self->m_buffer, self->m_parser, [self](const beast::error_code& ec2, std::size_t) {
        if (ec2) return self->finish(ec2 == beast::error::timeout ? "no answer in time" : "no answer: " + ec2.message());
        ControlAnswer a;
        a.status = static_cast<int>(self->m_parser.get().result_int());
        a.body = self->m_parser.get().body();
        self->answer(std::move(a));
      });
    });
  }

  void finish(const std::string& error) {
    ControlAnswer a;
    a.error = error;
    answer(std::move(a));
  }

  void answer(ControlAnswer a) {
    beast::error_code ignored;
    m_stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    m_stream.close();
    auto done = std::move(m_done);
    m_done = nullptr;
    if (done) done(std::move(a));
  }

  ControlRequest m_request;
  std::function<void(ControlAnswer)> m_done;
  tcp::resolver m_resolver;
  beast::tcp_stream m_stream;
  std::chrono::steady_clock::time_point m_deadline;
  beast::flat_buffer m_buffer;
  http::request<http::empty_body> m_req;
  http::response_parser<http::string_body> m_parser;
};

}  // namespace

ControlCall http_control_call(asio::io_context& io) {
  return [&io](const ControlRequest& request, std::function<void(ControlAnswer)> done) {
    std::make_shared<ControlCallOp>(io, request, std::move(done))->start();
  };
}

}  // namespace sjs

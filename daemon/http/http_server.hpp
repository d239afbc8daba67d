// The HTTP front end: Boost.Beast on the daemon's io_context, HTTP/1.1
// keep-alive, optional TLS, a header and a body limit, and request bodies of
// uploads streamed to a file rather than held in memory. It parses, applies
// authentication, and hands each request to the routes (routes.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "http/http_types.hpp"

namespace sjs {

class Service;

struct HttpOptions {
  std::string address = "127.0.0.1";
  unsigned short port = 8090;
  std::string tls_cert;                 // PEM files; both set = HTTPS
  std::string tls_key;
  std::uint64_t max_body_bytes = 512ull << 20;
  std::uint32_t max_header_bytes = 64u << 10;
  std::uint32_t max_target_bytes = 8u << 10;  // a longer request target is answered 414
  double idle_timeout_s = 120;          // an idle keep-alive connection is closed after this
  // Once a request's first bytes arrived, the rest of its header must within this (slow-header
  // clients, "slowloris", are closed instead of holding a connection for minutes).
  double header_timeout_s = 10;
  std::string upload_dir;               // where streamed bodies go
  // Called for every response (whole or streamed) just before its header goes out: the
  // metrics count it, CORS adds its headers (daemon.cpp's make_http_server sets it).
  std::function<void(const HttpRequest& request, int status, std::vector<std::pair<std::string, std::string>>& headers)>
      on_response;
};

// Decides, from the request's header alone (before any body is read), whether it may go on: fills
// request.user and calls `proceed`, at once or later on the io_context (a password check runs on
// another thread), or answers the request itself (401) and never calls `proceed`.
using HttpAuthenticator = std::function<void(HttpRequest& request, std::shared_ptr<HttpResponder> responder,
                                             std::function<void()> proceed)>;
// Answers a request.
using HttpRouter = std::function<void(const HttpRequest& request, std::shared_ptr<HttpResponder> responder)>;

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, HttpOptions options, HttpAuthenticator auth, HttpRouter router);
  ~HttpServer();
  // Binds and starts accepting; throws Error saying why it cannot.
  void start();
  void stop();
  unsigned short port() const;  // the bound port (when 0 was asked for)

  struct Impl;

 private:
  std::unique_ptr<Impl> m_impl;
};

}  // namespace sjs

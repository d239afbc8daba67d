// The Unix-socket front end: accepts local clients (same uid or root only),
// decodes frames, hands each request to the op table and writes the answers.
// No business logic here. Runs on the core thread.
#pragma once

#include <memory>
#include <set>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>

namespace sjs {

class Service;
class Session;

class UnixServer {
 public:
  UnixServer(boost::asio::io_context& io, Service& service, std::string socket_path, std::size_t max_frame);
  ~UnixServer();
  // Creates the socket's directory (0700) if needed, refuses to steal a live
  // daemon's socket, replaces a stale one, binds (0600) and starts accepting.
  void start();
  // Stops accepting and removes the socket; open sessions keep being served.
  void stop();
  // Closes every session.
  void close_sessions();

 private:
  void accept();

  boost::asio::io_context& m_io;
  Service& m_service;
  std::string m_path;
  std::size_t m_max_frame;
  boost::asio::local::stream_protocol::acceptor m_acceptor;
  std::set<std::weak_ptr<Session>, std::owner_less<std::weak_ptr<Session>>> m_sessions;
  boost::asio::steady_timer m_accept_retry;  // after an accept error (out of file descriptors)
  bool m_accept_failing = false;
  bool m_stopped = false;
  bool m_bound = false;  // only a socket we bound is ours to remove
};

}  // namespace sjs

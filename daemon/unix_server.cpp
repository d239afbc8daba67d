#include "unix_server.hpp"

#include <cerrno>
#include <cstring>
#include <deque>
#include <vector>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "handlers/handlers.hpp"
#include "service.hpp"
#include "sjs/errors.hpp"
#include "sjs/framing.hpp"
#include "sjs/paths.hpp"
#include "sjs/util.hpp"

namespace sjs {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

// One client connection. Requests are dispatched as they arrive (a client may
// pipeline); answers are written in the order they are ready, each with its id.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(stream::socket socket, Service& service, std::size_t max_frame)
      : m_socket(std::move(socket)), m_service(service), m_decoder(max_frame) {}

  void start() { read(); }
  void close() {
    if (m_closed) return;
    m_closed = true;
    boost::system::error_code ec;
    m_socket.shutdown(stream::socket::shutdown_both, ec);
    m_socket.close(ec);
  }

 private:
  void read() {
    auto self = shared_from_this();
    m_socket.async_read_some(asio::buffer(m_buf), [self](const boost::system::error_code& ec, std::size_t n) {
      if (ec || self->m_closed) {
        self->close();
        return;
      }
      try {
        self->m_decoder.feed(self->m_buf.data(), n);
        std::string payload;
        while (!self->m_closed && self->m_decoder.next(payload)) self->handle(payload);
      } catch (const Error& e) {
        // Framing is lost (an oversized or garbage length): say why, then hang up.
        spdlog::warn("closing a client connection: {}", e.what());
        self->send_error(nullptr, e);
        self->m_close_after_flush = true;
        self->flush_or_close();
        return;
      }
      if (!self->m_close_after_flush) self->read();
    });
  }

  void handle(const std::string& payload) {
    if (json_nesting(payload) > k_max_json_depth) {
      send_error(nullptr, Error(ErrorCode::bad_request, "a request nests arrays or objects more than " +
                                                            std::to_string(k_max_json_depth) + " levels deep"));
      return;
    }
    auto req = nlohmann::json::parse(payload, nullptr, false);
    if (req.is_discarded() || !req.is_object() || !req.contains("op") || !req["op"].is_string()) {
      send_error(req.is_object() && req.contains("id") ? req["id"] : nlohmann::json(),
                 Error(ErrorCode::protocol, "a request must be a JSON object with a string \"op\" (docs/protocol.md)"));
      return;
    }
    nlohmann::json id = req.contains("id") ? req["id"] : nlohmann::json();
    std::string op = req["op"].get<std::string>();
    nlohmann::json args = req.contains("args") ? std::move(req["args"]) : nlohmann::json::object();
    auto self = shared_from_this();
    Responder r;
    r.part = [self, id](nlohmann::json result) {
      self->send(nlohmann::json{{"id", id}, {"ok", true}, {"more", true}, {"result", std::move(result)}});
    };
    r.done = [self, id](nlohmann::json result) {
      self->send(nlohmann::json{{"id", id}, {"ok", true}, {"result", std::move(result)}});
    };
    r.fail = [self, id](const Error& e) { self->send_error(id, e); };
    r.open = [self] { return !self->m_closed; };
    dispatch(m_service, op, args, r);
  }

  void send_error(const nlohmann::json& id, const Error& e) {
    send(nlohmann::json{{"id", id},
                        {"ok", false},
                        {"error", error_to_json(e)}});
  }

  void send(const nlohmann::json& message) {
    if (m_closed) return;
    std::string text;
    try {
      text = message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      m_out.push_back(encode_frame(text));
    } catch (const std::exception& e) {
      m_out.push_back(encode_frame(nlohmann::json{{"id", message.value("id", nlohmann::json())},
                                                  {"ok", false},
                                                  {"error", {{"code", "internal"}, {"message", e.what()}}}}
                                       .dump()));
    }
    if (!m_writing) write();
  }

  void write() {
    if (m_closed) {
      // The peer went away while answers were queued (a write that had completed before the close
      // still calls back): they are dropped. (Found by fuzzing: flush_or_close called write again,
      // without end, since the queue never drained.)
      m_writing = false;
      m_out.clear();
      return;
    }
    if (m_out.empty()) {
      m_writing = false;
      flush_or_close();
      return;
    }
    m_writing = true;
    // Everything queued goes out in one gather write: a group commit acknowledges many pipelined
    // submissions at once.
    m_sending.clear();
    while (!m_out.empty() && m_sending.size() < 256) {
      m_sending.push_back(std::move(m_out.front()));
      m_out.pop_front();
    }
    m_buffers.clear();
    for (const auto& frame : m_sending) m_buffers.push_back(asio::buffer(frame));
    auto self = shared_from_this();
    asio::async_write(m_socket, m_buffers, [self](const boost::system::error_code& ec, std::size_t) {
      if (ec) {
        self->close();
        return;
      }
      self->m_sending.clear();
      self->write();
    });
  }

  void flush_or_close() {
    if (m_closed) return;
    if (m_close_after_flush && m_out.empty()) close();
    else if (!m_writing && !m_out.empty()) write();
  }

  stream::socket m_socket;
  Service& m_service;
  FrameDecoder m_decoder;
  std::array<char, 65536> m_buf{};
  std::deque<std::string> m_out;
  std::vector<std::string> m_sending;          // the frames of the write in progress
  std::vector<asio::const_buffer> m_buffers;   // ... and their buffers
  bool m_writing = false;
  bool m_closed = false;
  bool m_close_after_flush = false;
};

UnixServer::UnixServer(asio::io_context& io, Service& service, std::string socket_path, std::size_t max_frame)
    : m_io(io), m_service(service), m_path(std::move(socket_path)), m_max_frame(max_frame), m_acceptor(io), m_accept_retry(io) {}

UnixServer::~UnixServer() { stop(); }

void UnixServer::start() {
  check_socket_path(m_path);
  const std::string dir = parent_dir(m_path);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) make_dirs(dir, 0700);
  // A socket file may be left by a daemon that died; one that answers is not ours to take.
  if (::lstat(m_path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) throw Error(ErrorCode::bad_request, m_path + " exists and is not a socket");
    stream::socket probe(m_io);
    boost::system::error_code ec;
    probe.connect(stream::endpoint(m_path), ec);
    if (!ec) throw Error(ErrorCode::in_use, "another sjsd is already listening on " + m_path);
    ::unlink(m_path.c_str());
  }
  const mode_t old = ::umask(0177);
  boost::system::error_code ec;
  m_acceptor.open(stream(), ec);
  if (!ec) m_acceptor.bind(stream::endpoint(m_path), ec);
  ::umask(old);
  if (!ec) m_acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw Error(ErrorCode::internal, "cannot listen on " + m_path + ": " + ec.message());
  m_bound = true;
  ::chmod(m_path.c_str(), 0600);
  accept();
}

void UnixServer::accept() {
  m_acceptor.async_accept([this](const boost::system::error_code& ec, stream::socket socket) {
    if (m_stopped) return;
    if (!ec) {
      ucred cred{};
      socklen_t len = sizeof cred;
      const bool ok = ::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
                      (cred.uid == ::geteuid() || cred.uid == 0);
      if (!ok) {
        spdlog::warn("refused a connection from uid {} (sjsd runs as uid {})", cred.uid, ::geteuid());
        const std::string msg = encode_frame(
            nlohmann::json{{"id", nullptr},
                           {"ok", false},
                           {"error", {{"code", "forbidden"}, {"message", "sjsd serves only its own user"}}}}
                .dump());
        boost::system::error_code wec;
        asio::write(socket, asio::buffer(msg), wec);
      } else {
        ::fcntl(socket.native_handle(), F_SETFD, FD_CLOEXEC);
        auto s = std::make_shared<Session>(std::move(socket), m_service, m_max_frame);
        m_sessions.insert(s);
        s->start();
      }
    } else if (ec == asio::error::operation_aborted) {
      return;
    } else {
      // Out of file descriptors (EMFILE): the client waits in the listen queue until some close;
      // retrying at once would spin.
      if (!m_accept_failing) spdlog::warn("cannot accept connections ({}): retrying every 100 ms", ec.message());
      m_accept_failing = true;
      m_accept_retry.expires_after(std::chrono::milliseconds(100));
      m_accept_retry.async_wait([this](const boost::system::error_code& e) {
        if (!e && !m_stopped) accept();
      });
      return;
    }
    if (m_accept_failing) spdlog::info("accepting connections again");
    m_accept_failing = false;
    // Forget sessions that have ended.
    for (auto it = m_sessions.begin(); it != m_sessions.end();) it = it->expired() ? m_sessions.erase(it) : std::next(it);
    accept();
  });
}

void UnixServer::stop() {
  if (m_stopped) return;
  m_stopped = true;
  m_accept_retry.cancel();
  boost::system::error_code ec;
  m_acceptor.close(ec);
  if (m_bound) ::unlink(m_path.c_str());
}

void UnixServer::close_sessions() {
  for (auto& w : m_sessions) {
    if (auto s = w.lock()) s->close();
  }
  m_sessions.clear();
}

}  // namespace sjs

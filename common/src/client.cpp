#include "sjs/client.hpp"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sjs/errors.hpp"
#include "sjs/paths.hpp"

namespace sjs {

Client::Client(const std::string& socket_path) {
  check_socket_path(socket_path);
  m_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (m_fd < 0) throw Error(ErrorCode::unavailable, std::string("cannot create a socket: ") + std::strerror(errno));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (::connect(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    ::close(m_fd);
    m_fd = -1;
    throw Error(ErrorCode::unavailable, "cannot reach sjsd at " + socket_path + ": " + std::strerror(e));
  }
}

Client::~Client() {
  if (m_fd >= 0) ::close(m_fd);
}

void Client::write_all(const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(m_fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(ErrorCode::unavailable, std::string("lost the connection to sjsd: ") + std::strerror(errno));
    off += static_cast<std::size_t>(n);
  }
}

std::uint64_t Client::send(const std::string& op, const nlohmann::json& args) {
  std::uint64_t id = m_next_id++;
  nlohmann::json req = {{"id", id}, {"op", op}, {"args", args}};
  write_all(encode_frame(req.dump()));
  return id;
}

nlohmann::json Client::receive() {
  std::string payload;
  char buf[65536];
  while (!m_decoder.next(payload)) {
    ssize_t n = ::recv(m_fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(ErrorCode::unavailable, std::string("lost the connection to sjsd: ") + std::strerror(errno));
    if (n == 0) throw Error(ErrorCode::unavailable, "sjsd closed the connection (did it stop?)");
    m_decoder.feed(buf, static_cast<std::size_t>(n));
  }
  auto j = nlohmann::json::parse(payload, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error(ErrorCode::protocol, "sjsd sent a malformed answer");
  return j;
}

void Client::throw_if_error(const nlohmann::json& envelope) {
  if (envelope.value("ok", false)) return;
  throw error_from_json(envelope.contains("error") ? envelope["error"] : nlohmann::json::object());
}

nlohmann::json Client::call(const std::string& op, const nlohmann::json& args) {
  return call_stream(op, args, [](const nlohmann::json&) {});
}

nlohmann::json Client::call_stream(const std::string& op, const nlohmann::json& args,
                                   const std::function<void(const nlohmann::json&)>& on_part) {
  std::uint64_t id = send(op, args);
  for (;;) {
    auto env = receive();
    if (env.value("id", std::uint64_t{0}) != id) continue;  // an answer to an earlier pipelined request
    throw_if_error(env);
    nlohmann::json result = env.contains("result") ? env["result"] : nlohmann::json::object();
    if (env.value("more", false)) {
      on_part(result);
      continue;
    }
    return result;
  }
}

HelloResult Client::hello(const std::string& client_name) {
  HelloArgs args;
  args.client = client_name;
  auto r = call(op::k_hello, args).get<HelloResult>();
  check_protocol(r);
  return r;
}

nlohmann::json Client::upload(const std::string& name, const std::string& path, const std::string& type) {
  BinaryUploadArgs args{name, absolute_path(path), type, {}};
  return call(op::k_binary_upload, args);
}

}  // namespace sjs

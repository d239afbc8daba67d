// Blocking client for the daemon's Unix socket, used by the CLI, the tests and
// the benchmarks. Speaks docs/protocol.md: hello first, then requests; several
// requests may be in flight (pipelining), answers carry the request id.
// It is the socket's Transport (sjs/transport.hpp); the CLI's HttpTransport (cli/) is the other one.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "sjs/framing.hpp"
#include "sjs/messages.hpp"
#include "sjs/transport.hpp"

namespace sjs {

class Client : public Transport {
 public:
  // Connects to the socket; throws Error(unavailable) saying why it could not.
  explicit Client(const std::string& socket_path);
  ~Client() override;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Version handshake; throws Error(protocol) if the daemon cannot speak ours.
  HelloResult hello(const std::string& client_name) override;

  // One request, one answer. An error answer is thrown as sjs::Error.
  nlohmann::json call(const std::string& op, const nlohmann::json& args) override;
  // A streamed request: on_part gets every `more` part; returns the final result.
  nlohmann::json call_stream(const std::string& op, const nlohmann::json& args,
                             const std::function<void(const nlohmann::json&)>& on_part) override;
  // binary.upload with the file's absolute path: sjsd reads it itself (same uid, checked).
  nlohmann::json upload(const std::string& name, const std::string& path, const std::string& type) override;

  // Pipelining: send now, collect answers later with receive().
  std::uint64_t send(const std::string& op, const nlohmann::json& args);
  // The next answer envelope, as received (ok or not).
  nlohmann::json receive();

  // Throws the Error an error envelope carries.
  static void throw_if_error(const nlohmann::json& envelope);

 private:
  void write_all(const std::string& bytes);

  int m_fd = -1;
  std::uint64_t m_next_id = 1;
  FrameDecoder m_decoder;
};

}  // namespace sjs

// How the CLI reaches sjsd: the ops of the client protocol (docs/protocol.md),
// over the Unix socket (sjs::Client) or over HTTP(S) (sjs::cli::HttpTransport in
// cli/http_transport.hpp, for `sjs --url`). Both answer with the same results and throw the same sjs::Error
// for an error envelope, so a command cannot tell which one it talks through.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "sjs/errors.hpp"
#include "sjs/messages.hpp"

namespace sjs {

class Transport {
 public:
  virtual ~Transport() = default;

  // Version handshake; throws Error(protocol) if the daemon cannot speak ours.
  virtual HelloResult hello(const std::string& client_name) = 0;
  // One request, one answer. An error answer is thrown as sjs::Error.
  virtual nlohmann::json call(const std::string& op, const nlohmann::json& args) = 0;
  // A streamed request: on_part gets every `more` part; returns the final result.
  virtual nlohmann::json call_stream(const std::string& op, const nlohmann::json& args,
                                     const std::function<void(const nlohmann::json&)>& on_part) = 0;
  // Uploads the file at `path` as a new version of binary `name` (`type` "" = detect);
  // returns the BinaryInfo as JSON. The socket lets sjsd read the file; HTTP sends it.
  virtual nlohmann::json upload(const std::string& name, const std::string& path, const std::string& type) = 0;
};

// Throws Error(protocol) unless the daemon's hello answer speaks our protocol version.
inline void check_protocol(const HelloResult& r) {
  if (r.protocol == k_protocol_version) return;
  throw Error(ErrorCode::protocol, "sjsd speaks protocol " + std::to_string(r.protocol) + ", this sjs speaks " +
                                       std::to_string(k_protocol_version) + ": install matching versions of sjs and sjsd");
}

}  // namespace sjs

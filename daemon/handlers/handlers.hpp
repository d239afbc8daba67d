// The op table: each client-protocol op (common/include/sjs/messages.hpp) has
// one handler here, named after it, that parses the typed args, calls the
// service layer and sends back the typed result. One file per command family,
// matching cli/commands/<family>.cpp.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "reply.hpp"

namespace sjs {

class Service;

// One request's way back to its client. Front ends build it; handlers use it.
using Responder = Stream;

using Handler = void (*)(Service& service, const nlohmann::json& args, const Responder& respond);

// Runs the handler for `op`. Any sjs::Error (or other exception) becomes an
// error answer; an unknown op is Error(usage).
void dispatch(Service& service, const std::string& op, const nlohmann::json& args, const Responder& respond);

// Per family (handlers/<family>.cpp): returns the handler for op, or nullptr.
Handler binary_handler(const std::string& op);
Handler context_handler(const std::string& op);
Handler job_handler(const std::string& op);
Handler daemon_handler(const std::string& op);
Handler cluster_handler(const std::string& op);

// Replies with a typed result converted to JSON.
template <typename T>
std::function<void(T)> answer(const Responder& respond) {
  return [respond](T value) { respond.done(nlohmann::json(std::move(value))); };
}

}  // namespace sjs

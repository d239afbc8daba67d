// hello and daemon.* ops; the CLI side is cli/commands/daemon.cpp.
#include <unistd.h>

#include "handlers/handlers.hpp"
#include "service.hpp"
#include "sjs/errors.hpp"
#include "sjs/runtimes.hpp"

namespace sjs {
namespace {

void hello(Service& s, const nlohmann::json& args, const Responder& r) {
  auto a = parse_args<HelloArgs>(args);
  if (a.protocol > k_protocol_version) {
    throw Error(ErrorCode::protocol, "client speaks protocol " + std::to_string(a.protocol) + ", this sjsd speaks " +
                                         std::to_string(k_protocol_version) + ": upgrade sjsd (or use a matching sjs)");
  }
  HelloResult h;
  h.server = std::string("sjsd ") + SJS_VERSION;
  // The runtimes of the runtime table this build runs, whether any holds named objects, then the daemon's own.
  h.capabilities = runtime_names();
  if (!runtimes_with(runtime_cap::k_named_objects).empty()) h.capabilities.push_back(runtime_cap::k_named_objects);
  for (const char* c : {"log-follow", "idempotency-key", "sync", "pipelining"}) h.capabilities.push_back(c);
  h.pid = static_cast<int>(::getpid());
  h.data_dir = s.data_dir();
  r.done(h);
}

void daemon_status(Service& s, const nlohmann::json&, const Responder& r) { r.done(s.status()); }

void daemon_stop(Service& s, const nlohmann::json&, const Responder& r) {
  // Answer first: the client hears "stopping" before the connection goes.
  r.done(nlohmann::json{{"stopping", true}});
  s.request_stop();
}

}  // namespace

Handler daemon_handler(const std::string& op) {
  if (op == op::k_hello) return hello;
  if (op == op::k_daemon_status) return daemon_status;
  if (op == op::k_daemon_stop) return daemon_stop;
  return nullptr;
}

}  // namespace sjs

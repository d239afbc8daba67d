#include <spdlog/spdlog.h>

#include "handlers/handlers.hpp"
#include "sjs/errors.hpp"

namespace sjs {

void dispatch(Service& service, const std::string& op, const nlohmann::json& args, const Responder& respond) {
  try {
    Handler h = nullptr;
    for (auto family : {binary_handler, context_handler, job_handler, daemon_handler, cluster_handler}) {
      if ((h = family(op))) break;
    }
    if (!h) throw Error(ErrorCode::usage, "unknown op \"" + op + "\" (see docs/protocol.md)");
    h(service, args, respond);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::internal) spdlog::error("{} failed: {}", op, e.what());
    else spdlog::debug("{} refused: {}", op, e.what());
    respond.fail(e);
  } catch (const std::exception& e) {
    spdlog::error("{} failed: {}", op, e.what());
    respond.fail(Error(ErrorCode::internal, std::string("internal error: ") + e.what()));
  }
}

}  // namespace sjs

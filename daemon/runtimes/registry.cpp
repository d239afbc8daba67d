// The runtimes this build knows, and which one a binary type runs on by default.
#include "runtimes/exec_runtime.hpp"
#include "sjs/errors.hpp"

namespace sjs {

namespace asio = boost::asio;

// ---- the runtime registry ----------------------------------------------------

bool is_known_runtime(const std::string& name) { return name == "exec"; }

std::string default_runtime_for(const std::string& binary_type) {
  if (binary_type == "exec") return "exec";
  if (binary_type == "jar") return "jvm";
  if (binary_type == "py") return "python";
  if (binary_type == "so") return "native";
  return "exec";
}

std::unique_ptr<Runtime> make_runtime(const std::string& name, asio::io_context& io, JobSink& sink,
                                      const RuntimeOptions& options, const nlohmann::json& settings) {
  if (name == "exec") return std::make_unique<ExecRuntime>(io, sink, options, settings);
  throw Error(ErrorCode::bad_request, "runtime \"" + name + "\" is not available in this build: use exec");
}

}  // namespace sjs

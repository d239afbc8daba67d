// The runtimes this build knows, and which one a binary type runs on by default.
#include "runtimes/exec_runtime.hpp"
#include "runtimes/worker_runtime.hpp"
#include "sjs/errors.hpp"

namespace sjs {

namespace asio = boost::asio;

// ---- the runtime registry ----------------------------------------------------

bool is_known_runtime(const std::string& name) { return name == "exec" || name == "jvm" || name == "spark"; }

std::string default_runtime_for(const std::string& binary_type, bool spark_configured) {
  if (binary_type == "exec") return "exec";
  if (binary_type == "jar") return spark_configured ? "spark" : "jvm";
  if (binary_type == "py") return "python";
  if (binary_type == "so") return "native";
  return "exec";
}

std::unique_ptr<Runtime> make_runtime(const std::string& name, asio::io_context& io, JobSink& sink,
                                      const RuntimeOptions& options, const nlohmann::json& settings) {
  if (name == "exec") return std::make_unique<ExecRuntime>(io, sink, options, settings);
  if (name == "jvm") {
    return std::make_unique<WorkerRuntime>(io, sink, options, name,
                                           jvm_launch(options.launch, settings, options.context_name),
                                           std::set<std::string>{"jar"});
  }
  if (name == "spark") {
    return std::make_unique<WorkerRuntime>(io, sink, options, name,
                                           spark_launch(options.launch, settings, options.context_name),
                                           std::set<std::string>{"jar"});
  }
  throw Error(ErrorCode::bad_request, "runtime \"" + name + "\" is not available in this build: use exec, jvm or spark");
}

}  // namespace sjs

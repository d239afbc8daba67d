// One-shot runs of the runners' tools, for work that needs a runner's language but no context: the
// compile check of a .py upload (runtimes/python/sjs_tools.py check) and the step listing of a step
// library (`sjs binary steps`: sjs_tools.py steps for Python, sjs.runner.StepList for jars). Neither
// runs the user's code: Python is compiled or parsed, Java classes are loaded without initializing.
// Blocking: call from the blocking pool, never from the core thread.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "runtimes/launch.hpp"

namespace sjs {

// Compiles a .py upload. Throws Error(bad_request) with the file, line and message when it does not
// compile; returns false (and logs why) when no Python could run the check, so the upload is kept.
bool check_python_source(const LaunchConfig& config, const std::string& path, const std::string& display_name);

// The steps of a step library: [{name, function, module, params, doc}], sorted by name. Throws
// Error(bad_request) when the binary has no steps, Error(internal) when the tool cannot run (sjsd's set-up: its interpreter or java).
nlohmann::json list_python_steps(const LaunchConfig& config, const std::string& path, const std::string& type,
                                 const std::string& binary_name);
// The same for a jar, with `java -cp RUNNER_JAR sjs.runner.StepList JAR NAME`.
nlohmann::json list_jar_steps(const LaunchConfig& config, const std::string& path, const std::string& binary_name);

}  // namespace sjs

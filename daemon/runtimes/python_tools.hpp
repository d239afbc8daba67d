// One-shot runs of the Python runner's tool (runtimes/python/sjs_tools.py) for work that needs
// Python but no context: the compile check of a .py upload and the step listing of a step
// library (`sjs binary steps`). The tool never imports the user's code (it compiles or parses it).
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
// Error(bad_request) when the binary has no steps, Error(unavailable) when Python cannot run.
nlohmann::json list_python_steps(const LaunchConfig& config, const std::string& path, const std::string& type,
                                 const std::string& binary_name);

}  // namespace sjs

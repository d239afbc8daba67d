// How resident workers are started: the command line and environment of the
// JVM runner, directly (`jvm`) or through spark-submit (`spark`). Pure
// functions, so the exact spark-submit line is unit-tested without Spark.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sjs {

struct LaunchConfig {
  std::string java = "java";          // launcher for `jvm` contexts
  std::string runner_jar;             // sjs-runner.jar
  std::string spark_home;             // "" = no Spark configured
  std::string spark_master = "local[*]";
};

struct Launch {
  std::string path;                   // executable
  std::vector<std::string> argv;      // argv[0] included
  std::vector<std::string> env;       // extra "K=V" on top of the daemon's environment
};

// Context settings flattened to dotted keys: {"spark":{"executor":{"memory":"2g"}}} -> "spark.executor.memory".
std::vector<std::pair<std::string, std::string>> flatten_settings(const nlohmann::json& settings);

Launch jvm_launch(const LaunchConfig& config, const nlohmann::json& settings, const std::string& context);
// Throws Error(bad_request) when no Spark home is known.
Launch spark_launch(const LaunchConfig& config, const nlohmann::json& settings, const std::string& context);

}  // namespace sjs

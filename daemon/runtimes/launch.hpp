// How resident workers are started: the command line and environment of the
// JVM runner, directly (`jvm`) or through spark-submit (`spark`). Pure
// functions, so the exact spark-submit line is unit-tested without Spark.
// A new runtime adds its own `*_launch` here (and its launcher entry in
// registry.cpp); sjsd.conf's paths reach it as LaunchPaths.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sjs {

// sjsd.conf's launch settings by their dotted key ("jvm.java", "spark.home"). Each launcher in
// registry.cpp declares the keys it reads and fills in the defaults of those sjsd.conf left empty.
using LaunchPaths = std::map<std::string, std::string>;
// Every launcher's sjsd.conf keys with their defaults before resolving ("spark.master" = "local[*]");
// defined with the launchers (registry.cpp).
LaunchPaths default_launch_paths();

// The JVM runner's launch config (jvm and spark contexts), from LaunchPaths.
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

// The JVM runner's config from sjsd.conf's jvm.java, jvm.runner-jar, spark.home and spark.master.
LaunchConfig jvm_launch_config(const LaunchPaths& paths);

// The environment every resident worker gets, whatever its runtime: SJS_WORKER_FD, SJS_CONTEXT
// and the context's env.NAME settings. JVM launches add their JVM-only variables to it.
std::vector<std::string> resident_worker_env(const nlohmann::json& settings, const std::string& context);

// Context settings flattened to dotted keys: {"spark":{"executor":{"memory":"2g"}}} -> "spark.executor.memory".
std::vector<std::pair<std::string, std::string>> flatten_settings(const nlohmann::json& settings);

Launch jvm_launch(const LaunchConfig& config, const nlohmann::json& settings, const std::string& context);
// Throws Error(bad_request) when no Spark home is known.
Launch spark_launch(const LaunchConfig& config, const nlohmann::json& settings, const std::string& context);

}  // namespace sjs

#include "runtimes/launch.hpp"

#include <sstream>

#include "sjs/errors.hpp"
#include "sjs/runtimes.hpp"
#include "sjs/util.hpp"
#include "sjs/worker_protocol.hpp"

namespace sjs {
namespace {

std::string scalar(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::vector<std::string> split_words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// A JVM worker's environment: a resident worker's, and the JVM's own.
std::vector<std::string> jvm_worker_env(const nlohmann::json& settings, const std::string& context) {
  std::vector<std::string> env = resident_worker_env(settings, context);
  // Java 9+ launchers read this; Java 8 ignores it. The runner needs it to wrap fd 3
  // (docs/worker-protocol.md).
  env.insert(env.begin() + 2, "JDK_JAVA_OPTIONS=--add-opens=java.base/java.io=ALL-UNNAMED");
  return env;
}

std::string setting(const nlohmann::json& settings, std::initializer_list<const char*> keys) {
  for (const auto& [k, v] : flatten_settings(settings)) {
    for (const char* key : keys) {
      if (k == key) return v;
    }
  }
  return "";
}

}  // namespace

std::vector<std::pair<std::string, std::string>> flatten_settings(const nlohmann::json& settings) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [k, v] : flatten_setting_values(settings)) out.emplace_back(k, scalar(*v));
  return out;
}

std::vector<std::string> resident_worker_env(const nlohmann::json& settings, const std::string& context) {
  std::vector<std::string> env = {std::string(worker::k_fd_env) + "=" + std::to_string(worker::k_fd),
                                  "SJS_CONTEXT=" + context};
  for (const auto& [k, v] : flatten_settings(settings)) {
    if (starts_with(k, "env.")) env.push_back(k.substr(4) + "=" + v);
  }
  return env;
}

LaunchConfig jvm_launch_config(const LaunchPaths& paths) {
  auto get = [&](const char* key) {
    auto it = paths.find(key);
    return it == paths.end() ? std::string() : it->second;
  };
  LaunchConfig c;
  c.java = get("jvm.java");
  if (c.java.empty()) c.java = "java";
  c.runner_jar = get("jvm.runner-jar");
  c.spark_home = get("spark.home");
  c.spark_master = get("spark.master");
  return c;
}

Launch jvm_launch(const LaunchConfig& config, const nlohmann::json& settings, const std::string& context) {
  Launch l;
  l.path = config.java;
  l.argv.push_back(config.java);
  std::string memory = setting(settings, {"memory", "jvm-memory", "driver-memory"});
  if (!memory.empty()) l.argv.push_back("-Xmx" + memory);
  for (const auto& opt : split_words(setting(settings, {"jvm-options", "driver-java-options"}))) l.argv.push_back(opt);
  // An OutOfMemoryError leaves a JVM in no state to run jobs: let it die, so the
  // daemon sees it, marks the context's jobs ERROR and restarts the context.
  l.argv.push_back("-XX:+ExitOnOutOfMemoryError");
  l.argv.push_back("-Dsjs.context=" + context);
  l.argv.insert(l.argv.end(), {"-cp", config.runner_jar, "sjs.runner.Main"});
  l.env = jvm_worker_env(settings, context);
  return l;
}

Launch spark_launch(const LaunchConfig& config, const nlohmann::json& settings, const std::string& context) {
  std::string home = setting(settings, {"spark-home"});
  if (home.empty()) home = config.spark_home;
  if (home.empty()) {
    throw Error(ErrorCode::bad_request,
                "no Spark home: set spark.home in sjsd.conf, SPARK_HOME for sjsd, or --set spark-home=DIR");
  }
  std::string master = setting(settings, {"spark.master", "master"});
  if (master.empty()) master = config.spark_master.empty() ? "local[*]" : config.spark_master;

  Launch l;
  l.path = home + "/bin/spark-submit";
  l.argv = {l.path, "--class", "sjs.runner.Main", "--master", master, "--deploy-mode", "client",
            "--name", "sjs-" + context};
  std::vector<std::pair<std::string, std::string>> conf;
  for (const auto& [k, v] : flatten_settings(settings)) {
    if (k == "num-cpu-cores") conf.emplace_back("spark.cores.max", v);
    else if (k == "memory-per-node" || k == "mem-per-node") conf.emplace_back("spark.executor.memory", v);
    else if (starts_with(k, "spark.") && k != "spark.master") conf.emplace_back(k, v);
  }
  std::string driver_memory = setting(settings, {"driver-memory"});
  if (!driver_memory.empty()) l.argv.insert(l.argv.end(), {"--driver-memory", driver_memory});
  std::string java_opts = setting(settings, {"jvm-options", "driver-java-options"});
  java_opts = "-XX:+ExitOnOutOfMemoryError -Dsjs.context=" + context + (java_opts.empty() ? "" : " " + java_opts);
  l.argv.insert(l.argv.end(), {"--driver-java-options", java_opts});
  for (const auto& [k, v] : conf) l.argv.insert(l.argv.end(), {"--conf", k + "=" + v});
  l.argv.push_back(config.runner_jar);
  l.env = jvm_worker_env(settings, context);
  l.env.push_back("SJS_SPARK=1");
  l.env.push_back("SPARK_HOME=" + home);
  return l;
}

}  // namespace sjs

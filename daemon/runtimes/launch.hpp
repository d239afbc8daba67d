// How resident workers are started: the command line and environment of the
// JVM runner, directly (`jvm`) or through spark-submit (`spark`), and of the
// Python runner, directly (`python`) or through spark-submit (`pyspark`).
// Functions of their inputs (and of the site's spark-defaults.conf, which they
// read), so the exact spark-submit line is unit-tested without Spark.
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

// The runners' launch config (jvm, spark, python and pyspark contexts), from LaunchPaths.
struct LaunchConfig {
  std::string java = "java";          // launcher for `jvm` contexts
  std::string runner_jar;             // sjs-runner.jar
  std::string spark_home;             // "" = no Spark configured
  std::string spark_master = "local[*]";
  std::string python = "python3";     // the interpreter of python and pyspark contexts
  std::string python_runner;          // the Python runner's directory (sjs_runner.py, the sjs package)
  // Where the site's spark-defaults.conf is: SPARK_CONF_DIR of sjsd's environment ("" = $SPARK_HOME/conf).
  std::string spark_conf_dir;
};

struct Launch {
  std::string path;                   // executable
  std::vector<std::string> argv;      // argv[0] included
  std::vector<std::string> env;       // extra "K=V" on top of the daemon's environment
};

// The runners' config from sjsd.conf's jvm.java, jvm.runner-jar, spark.home, spark.master,
// python.interpreter and python.runner, and SPARK_CONF_DIR from sjsd's environment.
LaunchConfig launch_config(const LaunchPaths& paths);

// The environment every resident worker gets, whatever its runtime: SJS_WORKER_FD, SJS_CONTEXT
// and the context's env.NAME settings. JVM launches add their JVM-only variables to it.
std::vector<std::string> resident_worker_env(const nlohmann::json& settings, const std::string& context);

// Context settings flattened to dotted keys: {"spark":{"executor":{"memory":"2g"}}} -> "spark.executor.memory".
std::vector<std::pair<std::string, std::string>> flatten_settings(const nlohmann::json& settings);

Launch jvm_launch(const LaunchConfig& config, const nlohmann::json& settings, const std::string& context);
// Throws Error(bad_request) when no Spark home is known. The site's spark-defaults.conf
// (site_spark_defaults) keeps its driver and executor Java options: sjs's flags and the context's
// jvm-options and spark.*.extraJavaOptions are added after them, never in their place.
Launch spark_launch(const LaunchConfig& config, const nlohmann::json& settings, const std::string& context);
// `python -u RUNNER/sjs_runner.py`; the context's `python` setting picks the interpreter.
// A spark-jobserver context-factory reaches the runner as SJS_CONTEXT_FACTORY.
Launch python_launch(const LaunchConfig& config, const nlohmann::json& settings, const std::string& context);
// The interpreter runs RUNNER/sjs_runner.py with SJS_SPARK=1, and pyspark starts the driver's JVM with
// `$SPARK_HOME/bin/spark-submit $PYSPARK_SUBMIT_ARGS`: spark_launch's options (master, name, conf,
// the merged driver options) then pyspark-shell, shell-quoted. PYSPARK_PYTHON and
// PYSPARK_DRIVER_PYTHON are the context's interpreter.
Launch pyspark_launch(const LaunchConfig& config, const nlohmann::json& settings, const std::string& context);

// The site's Spark defaults a context would get: spark-defaults.conf of the context's
// env.SPARK_CONF_DIR, else the configured spark_conf_dir, else SPARK_HOME/conf; empty when there is
// none. Java-properties syntax: `key value`, `key=value` or `key: value`, # and ! comments.
std::map<std::string, std::string> site_spark_defaults(const LaunchConfig& config, const std::string& spark_home,
                                                       const nlohmann::json& settings);

}  // namespace sjs

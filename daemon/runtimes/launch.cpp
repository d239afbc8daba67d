#include "runtimes/launch.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
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

LaunchConfig launch_config(const LaunchPaths& paths) {
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
  c.python = get("python.interpreter");
  if (c.python.empty()) c.python = "python3";
  c.python_runner = get("python.runner");
  if (const char* conf_dir = std::getenv("SPARK_CONF_DIR")) c.spark_conf_dir = conf_dir;
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

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\f");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\f") - b + 1);
}

std::string spark_home_of(const LaunchConfig& config, const nlohmann::json& settings) {
  std::string home = setting(settings, {"spark-home"});
  if (home.empty()) home = config.spark_home;
  if (home.empty()) {
    throw Error(ErrorCode::bad_request,
                "no Spark home: set spark.home in sjsd.conf, SPARK_HOME for sjsd, or --set spark-home=DIR");
  }
  return home;
}

// "a b" + "c" -> "a b c", skipping empty parts.
std::string joined(std::initializer_list<std::string> parts) {
  std::string out;
  for (const auto& p : parts) {
    if (p.empty()) continue;
    out += (out.empty() ? "" : " ") + p;
  }
  return out;
}

// The spark-submit line both Spark runtimes share, up to (not including) the primary resource.
// `main_class` is the JVM runner's ("" for Python, whose resource is a .py file).
Launch spark_submit(const LaunchConfig& config, const nlohmann::json& settings, const std::string& context,
                    const std::string& main_class) {
  const std::string home = spark_home_of(config, settings);
  std::string master = setting(settings, {"spark.master", "master"});
  if (master.empty()) master = config.spark_master.empty() ? "local[*]" : config.spark_master;
  const auto site = site_spark_defaults(config, home, settings);
  auto site_value = [&site](const std::string& key) {
    auto it = site.find(key);
    return it == site.end() ? std::string() : it->second;
  };

  Launch l;
  l.path = home + "/bin/spark-submit";
  l.argv = {l.path};
  if (!main_class.empty()) l.argv.insert(l.argv.end(), {"--class", main_class});
  l.argv.insert(l.argv.end(), {"--master", master, "--deploy-mode", "client", "--name", "sjs-" + context});
  std::vector<std::pair<std::string, std::string>> conf;
  std::string driver_opts, executor_opts;
  for (const auto& [k, v] : flatten_settings(settings)) {
    if (k == "num-cpu-cores") conf.emplace_back("spark.cores.max", v);
    else if (k == "memory-per-node" || k == "mem-per-node") conf.emplace_back("spark.executor.memory", v);
    else if (k == "spark.driver.extraJavaOptions") driver_opts = v;
    else if (k == "spark.executor.extraJavaOptions") executor_opts = v;
    else if (starts_with(k, "spark.") && k != "spark.master") conf.emplace_back(k, v);
  }
  std::string driver_memory = setting(settings, {"driver-memory"});
  if (!driver_memory.empty()) l.argv.insert(l.argv.end(), {"--driver-memory", driver_memory});
  // --driver-java-options replaces spark.driver.extraJavaOptions of spark-defaults.conf: start from the
  // site's (its --add-opens, log4j, Kerberos...), then sjs's own flags, then the context's.
  const std::string java_opts =
      joined({site_value("spark.driver.extraJavaOptions"), "-XX:+ExitOnOutOfMemoryError -Dsjs.context=" + context,
              driver_opts, setting(settings, {"jvm-options", "driver-java-options"})});
  l.argv.insert(l.argv.end(), {"--driver-java-options", java_opts});
  // A context's executor options are added to the site's the same way (and left alone without them).
  if (!executor_opts.empty()) {
    conf.emplace_back("spark.executor.extraJavaOptions", joined({site_value("spark.executor.extraJavaOptions"), executor_opts}));
  }
  for (const auto& [k, v] : conf) l.argv.insert(l.argv.end(), {"--conf", k + "=" + v});
  l.env.push_back("SJS_SPARK=1");
  l.env.push_back("SPARK_HOME=" + home);
  return l;
}

// The interpreter of a python or pyspark context: its `python` setting, else sjsd's.
std::string python_of(const LaunchConfig& config, const nlohmann::json& settings) {
  std::string python = setting(settings, {"python"});
  return python.empty() ? (config.python.empty() ? "python3" : config.python) : python;
}

// A Python worker's environment: a resident worker's, and the spark-jobserver context factory it
// was created with (its jobs get the SparkContext, SQLContext or SparkSession that factory made).
std::vector<std::string> python_worker_env(const nlohmann::json& settings, const std::string& context) {
  std::vector<std::string> env = resident_worker_env(settings, context);
  const std::string factory = setting(settings, {"context-factory"});
  if (!factory.empty()) env.push_back("SJS_CONTEXT_FACTORY=" + factory);
  // spark-jobserver jobs see the context's settings as runtime.contextConfig.
  env.push_back("SJS_CONTEXT_CONFIG=" + (settings.is_object() ? settings.dump() : std::string("{}")));
  return env;
}

}  // namespace

std::map<std::string, std::string> site_spark_defaults(const LaunchConfig& config, const std::string& spark_home,
                                                       const nlohmann::json& settings) {
  std::string dir = setting(settings, {"env.SPARK_CONF_DIR"});
  if (dir.empty()) dir = config.spark_conf_dir;
  if (dir.empty()) dir = spark_home + "/conf";
  std::map<std::string, std::string> out;
  std::ifstream in(dir + "/spark-defaults.conf");
  std::string line, logical;
  while (std::getline(in, line)) {
    // A line ending in an odd number of backslashes continues on the next one, whose leading
    // white space is dropped (java.util.Properties, which Spark uses).
    if (!logical.empty()) line.erase(0, std::min(line.size(), line.find_first_not_of(" \t\f")));
    std::size_t slashes = 0;
    while (slashes < line.size() && line[line.size() - 1 - slashes] == '\\') ++slashes;
    if (slashes % 2 == 1) {
      logical += line.substr(0, line.size() - 1);
      continue;
    }
    logical += line;
    const std::string t = trim(logical);
    logical.clear();
    if (t.empty() || t[0] == '#' || t[0] == '!') continue;
    const std::size_t sep = t.find_first_of(" \t=:");
    if (sep == std::string::npos) {
      out[t] = "";
      continue;
    }
    std::string value = trim(t.substr(sep));
    if (!value.empty() && (value[0] == '=' || value[0] == ':')) value = trim(value.substr(1));
    out[t.substr(0, sep)] = value;
  }
  return out;
}

Launch spark_launch(const LaunchConfig& config, const nlohmann::json& settings, const std::string& context) {
  Launch l = spark_submit(config, settings, context, "sjs.runner.Main");
  l.argv.push_back(config.runner_jar);
  std::vector<std::string> env = jvm_worker_env(settings, context);
  env.insert(env.end(), l.env.begin(), l.env.end());
  l.env = std::move(env);
  return l;
}

Launch python_launch(const LaunchConfig& config, const nlohmann::json& settings, const std::string& context) {
  Launch l;
  l.path = python_of(config, settings);
  // -u: the context log gets the runner's own output as it is written.
  l.argv = {l.path, "-u", config.python_runner + "/sjs_runner.py"};
  l.env = python_worker_env(settings, context);
  return l;
}

// One argument quoted for a POSIX shell (and Python's shlex.split, which pyspark uses).
std::string shell_quoted(const std::string& arg) {
  if (!arg.empty() && arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.,:/=@%+[]*") ==
                          std::string::npos) {
    return arg;
  }
  std::string out = "'";
  for (char c : arg) out += c == '\'' ? std::string("'\"'\"'") : std::string(1, c);
  return out + "'";
}

Launch pyspark_launch(const LaunchConfig& config, const nlohmann::json& settings, const std::string& context) {
  // The runner must keep fd 3, and a Python application started by spark-submit runs under a JVM
  // that closes it. So the interpreter runs the runner itself, and pyspark starts the driver's JVM
  // with `spark-submit <PYSPARK_SUBMIT_ARGS>` (the same options a jar context gets, then
  // pyspark-shell), which reads the site's spark-defaults.conf and spark-env.sh as usual.
  const Launch submit = spark_submit(config, settings, context, "");
  std::string submit_args;
  for (std::size_t i = 1; i < submit.argv.size(); ++i) submit_args += shell_quoted(submit.argv[i]) + " ";
  submit_args += "pyspark-shell";

  Launch l;
  l.path = python_of(config, settings);
  l.argv = {l.path, "-u", config.python_runner + "/sjs_runner.py"};
  l.env = python_worker_env(settings, context);
  l.env.insert(l.env.end(), submit.env.begin(), submit.env.end());  // SJS_SPARK=1, SPARK_HOME
  l.env.push_back("PYSPARK_PYTHON=" + l.path);
  l.env.push_back("PYSPARK_DRIVER_PYTHON=" + l.path);
  l.env.push_back("PYSPARK_SUBMIT_ARGS=" + submit_args);
  return l;
}

}  // namespace sjs

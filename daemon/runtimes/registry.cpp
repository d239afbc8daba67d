// The daemon's half of the runtime table (sjs/runtimes.hpp): how each built
// runtime is launched, keyed by the table's names. Adding a runtime: its entry in
// common/src/runtimes.cpp, a launcher here, its worker (docs/ARCHITECTURE.md).
#include <cstdlib>
#include <unistd.h>

#include "runtimes/exec_runtime.hpp"
#include "runtimes/worker_runtime.hpp"
#include "sjs/errors.hpp"
#include "sjs/paths.hpp"
#include "sjs/runtimes.hpp"

namespace sjs {

namespace asio = boost::asio;

namespace {

std::string get(const LaunchPaths& paths, const std::string& key) {
  auto it = paths.find(key);
  return it == paths.end() ? std::string() : it->second;
}

// The directory of the running sjsd.
std::string exe_dir() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? parent_dir(std::string(buf, static_cast<std::size_t>(n))) : ".";
}

// A file shipped with sjsd: next to it (the build dir), else ../share/sjs/ (installed).
std::string shipped_file(const std::string& name) {
  const std::string dir = exe_dir();
  for (const std::string& candidate : {dir + "/" + name, parent_dir(dir) + "/share/sjs/" + name}) {
    if (::access(candidate.c_str(), R_OK) == 0) return candidate;
  }
  return dir + "/" + name;
}

// jvm.java: $JAVA_HOME/bin/java, else java on PATH; jvm.runner-jar: shipped with sjsd.
void resolve_jvm(LaunchPaths& paths) {
  if (get(paths, "jvm.java").empty()) {
    const char* java_home = std::getenv("JAVA_HOME");
    paths["jvm.java"] = java_home && *java_home ? std::string(java_home) + "/bin/java" : "java";
  }
  if (get(paths, "jvm.runner-jar").empty()) paths["jvm.runner-jar"] = shipped_file("sjs-runner.jar");
}

// spark.home: $SPARK_HOME (empty: no Spark, spark contexts need a spark-home setting).
void resolve_spark(LaunchPaths& paths) {
  resolve_jvm(paths);
  if (get(paths, "spark.home").empty()) {
    const char* spark_home = std::getenv("SPARK_HOME");
    if (spark_home) paths["spark.home"] = spark_home;
  }
}

// python.interpreter: PYSPARK_PYTHON of sjsd's environment, else python3; python.runner: the runner's
// directory shipped with sjsd.
void resolve_python(LaunchPaths& paths) {
  if (get(paths, "python.interpreter").empty()) {
    const char* pyspark_python = std::getenv("PYSPARK_PYTHON");
    paths["python.interpreter"] = pyspark_python && *pyspark_python ? pyspark_python : "python3";
  }
  if (get(paths, "python.runner").empty()) paths["python.runner"] = shipped_file("python");
}

void resolve_pyspark(LaunchPaths& paths) {
  resolve_python(paths);
  resolve_spark(paths);
}

}  // namespace

const std::vector<RuntimeLauncher>& runtime_launchers() {
  static const std::vector<RuntimeLauncher> k_launchers = {
      {"exec",
       {},
       [](LaunchPaths&) {},
       [](const LaunchPaths&) { return true; },
       [](asio::io_context& io, JobSink& sink, const RuntimeOptions& options, const nlohmann::json& settings) {
         return std::make_unique<ExecRuntime>(io, sink, options, "exec", settings);
       }},
      {"jvm",
       {"jvm.java", "jvm.runner-jar"},
       resolve_jvm,
       [](const LaunchPaths&) { return true; },
       [](asio::io_context& io, JobSink& sink, const RuntimeOptions& options, const nlohmann::json& settings) {
         return std::make_unique<WorkerRuntime>(
             io, sink, options, "jvm", jvm_launch(launch_config(options.launch), settings, options.context_name));
       }},
      {"spark",
       {"jvm.runner-jar", "spark.home", "spark.master"},
       resolve_spark,
       [](const LaunchPaths& paths) { return !get(paths, "spark.home").empty(); },
       [](asio::io_context& io, JobSink& sink, const RuntimeOptions& options, const nlohmann::json& settings) {
         return std::make_unique<WorkerRuntime>(
             io, sink, options, "spark", spark_launch(launch_config(options.launch), settings, options.context_name));
       }},
      {"python",
       {"python.interpreter", "python.runner"},
       resolve_python,
       [](const LaunchPaths&) { return true; },
       [](asio::io_context& io, JobSink& sink, const RuntimeOptions& options, const nlohmann::json& settings) {
         return std::make_unique<WorkerRuntime>(
             io, sink, options, "python", python_launch(launch_config(options.launch), settings, options.context_name));
       }},
      {"pyspark",
       {"python.interpreter", "python.runner", "spark.home", "spark.master"},
       resolve_pyspark,
       [](const LaunchPaths& paths) { return !get(paths, "spark.home").empty(); },
       [](asio::io_context& io, JobSink& sink, const RuntimeOptions& options, const nlohmann::json& settings) {
         return std::make_unique<WorkerRuntime>(
             io, sink, options, "pyspark", pyspark_launch(launch_config(options.launch), settings, options.context_name));
       }},
  };
  return k_launchers;
}

const RuntimeLauncher* find_launcher(const std::string& runtime) {
  for (const auto& l : runtime_launchers()) {
    if (l.runtime == runtime) return &l;
  }
  return nullptr;
}

LaunchPaths default_launch_paths() {
  LaunchPaths paths;
  for (const auto& l : runtime_launchers()) {
    for (const auto& key : l.conf_keys) paths[key];
  }
  paths["spark.master"] = "local[*]";
  return paths;
}

void resolve_launch_paths(LaunchPaths& paths) {
  for (const auto& l : runtime_launchers()) l.resolve(paths);
}

bool is_known_runtime(const std::string& name) {
  const RuntimeSpec* spec = find_runtime(name);
  return spec && spec->built && find_launcher(name);
}

std::string default_runtime_for(const std::string& binary_type, const LaunchPaths& launch) {
  return sjs::default_runtime_for(binary_type, [&launch](const RuntimeSpec& r) {
    const RuntimeLauncher* l = find_launcher(r.name);
    return l && l->available(launch);
  });
}

std::string runtime_for_context_factory(const std::string& factory, const LaunchPaths& launch) {
  const RuntimeSpec* r = sjs::runtime_for_context_factory(factory, [&launch](const RuntimeSpec& spec) {
    const RuntimeLauncher* l = find_launcher(spec.name);
    return l && l->available(launch);
  });
  return r ? r->name : "";
}

namespace {

Error unknown_runtime(const std::string& name) {
  const RuntimeSpec* spec = find_runtime(name);
  const std::string choices = "use " + list_words(runtime_names());
  if (spec) return Error(ErrorCode::bad_request, "runtime \"" + name + "\" is not available in this build: " + choices);
  return Error(ErrorCode::bad_request, "unknown runtime \"" + name + "\": " + choices);
}

}  // namespace

void check_new_context(const std::string& runtime, const nlohmann::json& settings, const RuntimeOptions& options) {
  if (!is_known_runtime(runtime)) throw unknown_runtime(runtime);
  check_context_settings(*find_runtime(runtime), settings);
  // Settings that cannot work here (spark with no Spark home): the launcher refuses them.
  asio::io_context io;
  struct NoSink : JobSink {
    void job_started(const std::string&, int) override {}
    void job_output(const std::string&, std::string_view) override {}
    void job_ended(const std::string&, JobOutcome) override {}
    void runtime_died(Runtime&, const std::string&) override {}
  } sink;
  make_runtime(runtime, io, sink, options, settings);
}

std::unique_ptr<Runtime> make_runtime(const std::string& name, asio::io_context& io, JobSink& sink,
                                      const RuntimeOptions& options, const nlohmann::json& settings) {
  if (!is_known_runtime(name)) throw unknown_runtime(name);
  RuntimeOptions o = options;
  o.limits = limits_of(settings, options.limits);  // the context's limits.* over sjsd.conf's
  return find_launcher(name)->make(io, sink, o, settings);
}

// ---- Runtime's table-driven parts ----------------------------------------------------

bool Runtime::accepts(const std::string& binary_type) const {
  const RuntimeSpec* spec = find_runtime(name());
  return spec && runs(*spec, binary_type);
}

void Runtime::list_objects(std::function<void(std::vector<std::string>, const std::string& error)> done) {
  done({}, "contexts of the " + name() + " runtime hold no named objects (" +
               list_words(runtimes_with(runtime_cap::k_named_objects), "and") + " contexts do)");
}

}  // namespace sjs

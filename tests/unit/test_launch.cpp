// How resident JVM workers are launched (daemon/runtimes/launch.hpp): the exact
// spark-submit command line and environment of a `spark` context, the java
// command line of a `jvm` context, and the flattening of context settings.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "runtimes/launch.hpp"
#include "sjs/errors.hpp"
#include "unit_helpers.hpp"

using nlohmann::json;
using sjs::Error;
using sjs::ErrorCode;
using sjs::flatten_settings;
using sjs::jvm_launch;
using sjs::Launch;
using sjs::LaunchConfig;
using sjs::spark_launch;
using sjs::test::error_from;

namespace {

LaunchConfig config_with_spark(const std::string& spark_home = "/opt/spark") {
  LaunchConfig c;
  c.java = "/opt/jdk/bin/java";
  c.runner_jar = "/usr/share/sjs/sjs-runner.jar";
  c.spark_home = spark_home;
  return c;
}

bool has_env(const Launch& l, const std::string& kv) {
  return std::find(l.env.begin(), l.env.end(), kv) != l.env.end();
}

// The value of the "K=..." entry of the environment ("" if absent), and whether it is present.
std::pair<bool, std::string> env_value(const Launch& l, const std::string& key) {
  for (const auto& kv : l.env) {
    if (kv.compare(0, key.size() + 1, key + "=") == 0) return {true, kv.substr(key.size() + 1)};
  }
  return {false, ""};
}

// The argument following the (only) occurrence of `option`; REQUIREs it appears exactly once.
std::string option_value(const Launch& l, const std::string& option) {
  REQUIRE(std::count(l.argv.begin(), l.argv.end(), option) == 1);
  auto it = std::find(l.argv.begin(), l.argv.end(), option);
  REQUIRE(it + 1 != l.argv.end());
  return *(it + 1);
}

// Every `--conf K=V` of a spark-submit line, in order.
std::vector<std::string> confs(const Launch& l) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i + 1 < l.argv.size(); ++i) {
    if (l.argv[i] == "--conf") out.push_back(l.argv[i + 1]);
  }
  return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

// ---------------------------------------------------------------- spark_launch

TEST_CASE("spark_launch with no settings: exactly spark-submit --class sjs.runner.Main --master local(any) "
          "--deploy-mode client --name sjs-CTX --driver-java-options OPTS RUNNER_JAR",
          "[launch]") {
  const Launch l = spark_launch(config_with_spark(), json::object(), "ctx1");
  CHECK(l.path == "/opt/spark/bin/spark-submit");
  const std::vector<std::string> expected = {"/opt/spark/bin/spark-submit",
                                             "--class", "sjs.runner.Main",
                                             "--master", "local[*]",
                                             "--deploy-mode", "client",
                                             "--name", "sjs-ctx1",
                                             "--driver-java-options",
                                             "-XX:+ExitOnOutOfMemoryError -Dsjs.context=ctx1",
                                             "/usr/share/sjs/sjs-runner.jar"};
  CHECK(l.argv == expected);
}

TEST_CASE("spark_launch maps num-cpu-cores, memory-per-node and nested spark.X settings to --conf, "
          "driver-memory to --driver-memory, jvm-options into --driver-java-options, the runner jar last",
          "[launch]") {
  json settings = {{"num-cpu-cores", 4},
                   {"memory-per-node", "2g"},
                   {"driver-memory", "1g"},
                   {"jvm-options", "-Dfoo=bar -Xss2m"},
                   {"max-queue", 10},                      // an sjs setting: not a Spark conf
                   {"spark", {{"executor", {{"instances", 2}}}, {"ui", {{"enabled", false}}}}}};
  const Launch l = spark_launch(config_with_spark(), settings, "big");

  // The fixed head of the line, in order.
  REQUIRE(l.argv.size() > 9);
  const std::vector<std::string> head(l.argv.begin(), l.argv.begin() + 9);
  CHECK(head == std::vector<std::string>{"/opt/spark/bin/spark-submit", "--class", "sjs.runner.Main", "--master",
                                         "local[*]", "--deploy-mode", "client", "--name", "sjs-big"});
  CHECK(l.argv.back() == "/usr/share/sjs/sjs-runner.jar");
  CHECK(std::count(l.argv.begin(), l.argv.end(), "/usr/share/sjs/sjs-runner.jar") == 1);

  CHECK(sorted(confs(l)) == std::vector<std::string>{"spark.cores.max=4", "spark.executor.instances=2",
                                                     "spark.executor.memory=2g", "spark.ui.enabled=false"});
  CHECK(option_value(l, "--driver-memory") == "1g");
  const std::string java_opts = option_value(l, "--driver-java-options");
  CHECK(java_opts.find("-Dfoo=bar -Xss2m") != std::string::npos);
  CHECK(java_opts.find("-Dsjs.context=big") != std::string::npos);
  // Nothing but options, their values and the jar: no stray setting leaks onto the line.
  for (const auto& a : l.argv) {
    CHECK(a.find("max-queue") == std::string::npos);
    CHECK(a.find("num-cpu-cores") == std::string::npos);
  }
}

TEST_CASE("spark_launch takes the executor memory from mem-per-node as well as memory-per-node, "
          "and numbers given as strings verbatim",
          "[launch]") {
  const Launch a = spark_launch(config_with_spark(), json{{"mem-per-node", "512m"}}, "c");
  CHECK(confs(a) == std::vector<std::string>{"spark.executor.memory=512m"});
  const Launch b = spark_launch(config_with_spark(), json{{"num-cpu-cores", "8"}}, "c");
  CHECK(confs(b) == std::vector<std::string>{"spark.cores.max=8"});
  // Without those settings there is no --conf and no --driver-memory at all.
  const Launch none = spark_launch(config_with_spark(), json::object(), "c");
  CHECK(confs(none).empty());
  CHECK(std::count(none.argv.begin(), none.argv.end(), "--driver-memory") == 0);
}

TEST_CASE("spark_launch's master: the spark.master or master setting, else the configured master, else local(any), "
          "spark.master is never also passed as a --conf",
          "[launch]") {
  LaunchConfig conf = config_with_spark();
  conf.spark_master = "yarn";
  CHECK(option_value(spark_launch(conf, json::object(), "c"), "--master") == "yarn");

  const Launch by_master = spark_launch(conf, json{{"master", "spark://h:7077"}}, "c");
  CHECK(option_value(by_master, "--master") == "spark://h:7077");

  const Launch by_spark_master = spark_launch(conf, json{{"spark", {{"master", "spark://other:7077"}}}}, "c");
  CHECK(option_value(by_spark_master, "--master") == "spark://other:7077");
  CHECK(confs(by_spark_master).empty());

  conf.spark_master = "";
  CHECK(option_value(spark_launch(conf, json::object(), "c"), "--master") == "local[*]");
}

TEST_CASE("spark_launch's environment: SJS_SPARK=1, SJS_WORKER_FD=3, SPARK_HOME, JDK_JAVA_OPTIONS with --add-opens, "
          "the context name and env.X settings",
          "[launch]") {
  const Launch l = spark_launch(config_with_spark(), json{{"env", {{"FOO", "bar"}, {"N", 3}}}}, "ctx2");
  CHECK(has_env(l, "SJS_SPARK=1"));
  CHECK(has_env(l, "SJS_WORKER_FD=3"));
  CHECK(has_env(l, "SPARK_HOME=/opt/spark"));
  CHECK(has_env(l, "SJS_CONTEXT=ctx2"));
  CHECK(has_env(l, "FOO=bar"));
  CHECK(has_env(l, "N=3"));
  auto [has_opts, opts] = env_value(l, "JDK_JAVA_OPTIONS");
  CHECK(has_opts);
  CHECK(opts.find("--add-opens") != std::string::npos);
  CHECK(opts.find("java.base/java.io=ALL-UNNAMED") != std::string::npos);
  // env.* settings are environment, not Spark conf.
  CHECK(confs(l).empty());
}

TEST_CASE("spark_launch: the spark-home setting beats the configured Spark home, for the path and SPARK_HOME",
          "[launch]") {
  const Launch l = spark_launch(config_with_spark("/opt/spark"), json{{"spark-home", "/srv/spark-3.5"}}, "c");
  CHECK(l.path == "/srv/spark-3.5/bin/spark-submit");
  CHECK(l.argv.at(0) == "/srv/spark-3.5/bin/spark-submit");
  CHECK(has_env(l, "SPARK_HOME=/srv/spark-3.5"));
  CHECK_FALSE(has_env(l, "SPARK_HOME=/opt/spark"));
  CHECK(confs(l).empty());

  // The setting alone is enough: no Spark home configured at all.
  const Launch only_setting = spark_launch(config_with_spark(""), json{{"spark-home", "/srv/s"}}, "c");
  CHECK(only_setting.path == "/srv/s/bin/spark-submit");
}

TEST_CASE("spark_launch with no Spark home anywhere throws bad_request naming spark.home", "[launch]") {
  Error e = error_from([] { spark_launch(config_with_spark(""), json{{"num-cpu-cores", 2}}, "c"); });
  CHECK(e.code() == ErrorCode::bad_request);
  CHECK(std::string(e.what()).find("spark.home") != std::string::npos);
}

// ---------------------------------------------------------------- jvm_launch

TEST_CASE("jvm_launch: the configured java, -Xmx from memory, jvm-options split into words, "
          "-cp RUNNER_JAR sjs.runner.Main last",
          "[launch]") {
  const LaunchConfig conf = config_with_spark();
  const Launch l = jvm_launch(conf, json{{"memory", "512m"}, {"jvm-options", "  -Dfoo=bar   -Xss2m "}}, "jc");
  CHECK(l.path == "/opt/jdk/bin/java");
  REQUIRE(l.argv.size() >= 4);
  CHECK(l.argv.front() == "/opt/jdk/bin/java");
  const std::vector<std::string> tail(l.argv.end() - 3, l.argv.end());
  CHECK(tail == std::vector<std::string>{"-cp", "/usr/share/sjs/sjs-runner.jar", "sjs.runner.Main"});
  CHECK(std::count(l.argv.begin(), l.argv.end(), "-Xmx512m") == 1);
  CHECK(std::count(l.argv.begin(), l.argv.end(), "-Dfoo=bar") == 1);
  CHECK(std::count(l.argv.begin(), l.argv.end(), "-Xss2m") == 1);
  for (const auto& a : l.argv) CHECK(a.find(' ') == std::string::npos);  // each option its own word
  // JVM options come before the main class.
  auto pos = [&](const std::string& a) { return std::find(l.argv.begin(), l.argv.end(), a) - l.argv.begin(); };
  CHECK(pos("-Xmx512m") < pos("sjs.runner.Main"));
  CHECK(pos("-Dfoo=bar") < pos("-cp"));

  CHECK(has_env(l, "SJS_WORKER_FD=3"));
  CHECK(has_env(l, "SJS_CONTEXT=jc"));
  auto [has_opts, opts] = env_value(l, "JDK_JAVA_OPTIONS");
  CHECK(has_opts);
  CHECK(opts.find("--add-opens") != std::string::npos);
  CHECK_FALSE(env_value(l, "SJS_SPARK").first);
  CHECK_FALSE(env_value(l, "SPARK_HOME").first);  // the launch adds none; the daemon's own env is separate
}

TEST_CASE("jvm_launch without settings has no -Xmx and no user options, and env.X settings go to the environment",
          "[launch]") {
  const Launch l = jvm_launch(config_with_spark(), json{{"env", {{"GREETING", "hi there"}}}}, "jc");
  for (const auto& a : l.argv) CHECK(a.rfind("-Xmx", 0) != 0);
  CHECK(l.argv.back() == "sjs.runner.Main");
  CHECK(has_env(l, "GREETING=hi there"));
  // A jvm context never goes through spark-submit, whatever the Spark home.
  CHECK(l.path == "/opt/jdk/bin/java");
}

// ---------------------------------------------------------------- flatten_settings

TEST_CASE("flatten_settings turns nested objects into dotted keys with scalar values as text", "[launch]") {
  json settings = {{"a", 1},
                   {"b", {{"c", "x"}, {"d", {{"e", true}}}}},
                   {"f", json::array({1, 2})},
                   {"g", nullptr},
                   {"h", 2.5}};
  std::map<std::string, std::string> flat;
  for (const auto& [k, v] : flatten_settings(settings)) {
    CHECK(flat.count(k) == 0);
    flat[k] = v;
  }
  CHECK(flat == std::map<std::string, std::string>{
                    {"a", "1"}, {"b.c", "x"}, {"b.d.e", "true"}, {"f", "[1,2]"}, {"g", "null"}, {"h", "2.5"}});
}

TEST_CASE("flatten_settings of an empty object or a non-object is empty", "[launch]") {
  CHECK(flatten_settings(json::object()).empty());
  CHECK(flatten_settings(json()).empty());
  CHECK(flatten_settings(json::array({1, 2})).empty());
  CHECK(flatten_settings(json("text")).empty());
}

// ---------------------------------------------------------------- per-runtime launch config and env

TEST_CASE("launch_config reads sjsd.conf's jvm.*, spark.* and python.* launch paths - java defaults to java, python to python3", "[launch]") {
  const LaunchConfig c = sjs::launch_config({{"jvm.java", "/opt/jdk/bin/java"},
                                                 {"jvm.runner-jar", "/r.jar"},
                                                 {"spark.home", "/opt/spark"},
                                                 {"spark.master", "yarn"},
                                                 {"python.interpreter", "/opt/py3"}, {"python.runner", "/r"}});
  CHECK(c.java == "/opt/jdk/bin/java");
  CHECK(c.runner_jar == "/r.jar");
  CHECK(c.spark_home == "/opt/spark");
  CHECK(c.spark_master == "yarn");
  CHECK(c.python == "/opt/py3");
  CHECK(c.python_runner == "/r");
  CHECK(sjs::launch_config({}).python == "python3");
  CHECK(sjs::launch_config({}).java == "java");
  CHECK(sjs::launch_config({}).spark_home.empty());
}

TEST_CASE("resident_worker_env, what every resident worker gets, has the fd, the context and env.X but no JVM "
          "variable - only JVM launches add JDK_JAVA_OPTIONS",
          "[launch]") {
  Launch generic;
  generic.env = sjs::resident_worker_env(json{{"env", {{"FOO", "bar"}}}}, "w1");
  CHECK(has_env(generic, "SJS_WORKER_FD=3"));
  CHECK(has_env(generic, "SJS_CONTEXT=w1"));
  CHECK(has_env(generic, "FOO=bar"));
  CHECK_FALSE(env_value(generic, "JDK_JAVA_OPTIONS").first);
  CHECK_FALSE(env_value(generic, "SJS_SPARK").first);
  // The JVM launches have all of it, plus JDK_JAVA_OPTIONS.
  for (const Launch& l : {jvm_launch(config_with_spark(), json{{"env", {{"FOO", "bar"}}}}, "w1"),
                          spark_launch(config_with_spark(), json{{"env", {{"FOO", "bar"}}}}, "w1")}) {
    for (const auto& kv : generic.env) CHECK(has_env(l, kv));
    CHECK(env_value(l, "JDK_JAVA_OPTIONS").first);
  }
}

// ---------------------------------------------------------------- python and pyspark

TEST_CASE("python_launch: the interpreter runs the runner unbuffered - the context's python setting beats "
          "sjsd's - the context factory reaches the runner, and no JVM or Spark variable",
          "[launch]") {
  LaunchConfig c;
  c.python = "/usr/bin/python3";
  c.python_runner = "/usr/share/sjs/python";
  const Launch l = sjs::python_launch(c, json{{"env", {{"FOO", "bar"}}}}, "py1");
  CHECK(l.path == "/usr/bin/python3");
  CHECK(l.argv == std::vector<std::string>{"/usr/bin/python3", "-u", "/usr/share/sjs/python/sjs_runner.py"});
  CHECK(has_env(l, "SJS_WORKER_FD=3"));
  CHECK(has_env(l, "SJS_CONTEXT=py1"));
  CHECK(has_env(l, "FOO=bar"));
  CHECK_FALSE(env_value(l, "JDK_JAVA_OPTIONS").first);
  CHECK_FALSE(env_value(l, "SJS_SPARK").first);
  CHECK_FALSE(env_value(l, "SJS_CONTEXT_FACTORY").first);

  const Launch venv = sjs::python_launch(
      c, json{{"python", "/opt/venv/bin/python"}, {"context-factory", "spark.jobserver.python.PythonSQLContextFactory"}},
      "py2");
  CHECK(venv.argv.front() == "/opt/venv/bin/python");
  CHECK(env_value(venv, "SJS_CONTEXT_FACTORY").second == "spark.jobserver.python.PythonSQLContextFactory");
}

TEST_CASE("pyspark_launch: python runs the runner with SJS_SPARK=1, and PYSPARK_SUBMIT_ARGS carries spark_launch's "
          "options, shell-quoted, then pyspark-shell - PYSPARK_PYTHON is the context's interpreter",
          "[launch]") {
  LaunchConfig c = config_with_spark("/no/such/spark");
  c.python = "python3";
  c.python_runner = "/r";
  const Launch l = sjs::pyspark_launch(
      c, json{{"python", "/opt/py"}, {"num-cpu-cores", 2}, {"jvm-options", "-Da=1 -Db='x y'"}}, "ps");
  CHECK(l.argv == std::vector<std::string>{"/opt/py", "-u", "/r/sjs_runner.py"});
  CHECK(env_value(l, "SJS_SPARK").second == "1");
  CHECK(env_value(l, "SPARK_HOME").second == "/no/such/spark");
  CHECK(env_value(l, "PYSPARK_PYTHON").second == "/opt/py");
  CHECK(env_value(l, "PYSPARK_DRIVER_PYTHON").second == "/opt/py");
  CHECK(env_value(l, "PYSPARK_SUBMIT_ARGS").second ==
        "--master local[*] --deploy-mode client --name sjs-ps --driver-java-options "
        "'-XX:+ExitOnOutOfMemoryError -Dsjs.context=ps -Da=1 -Db='\"'\"'x y'\"'\"'' "
        "--conf spark.cores.max=2 pyspark-shell");
  Error no_home = error_from([] { sjs::pyspark_launch(LaunchConfig{}, json::object(), "c"); });
  CHECK(no_home.code() == sjs::ErrorCode::bad_request);
}

TEST_CASE("site_spark_defaults reads spark-defaults.conf as Java properties, from the context's SPARK_CONF_DIR, "
          "sjsd's, else SPARK_HOME/conf - and spark_launch keeps the site's driver and executor options",
          "[launch]") {
  sjs::test::TempDir dir;
  const std::string home = dir.path() + "/spark";
  std::filesystem::create_directories(home + "/conf");
  std::filesystem::create_directories(dir.path() + "/other");
  {
    std::ofstream f(home + "/conf/spark-defaults.conf");
    f << "# a comment\n! another\n\n"
         "spark.driver.extraJavaOptions  -Dsite=1 \\\n    -Dmore=2\n"
         "spark.executor.extraJavaOptions=-Dexec=1\n"
         "spark.eventLog.enabled : true\n"
         "spark.flag\n";
    std::ofstream g(dir.path() + "/other/spark-defaults.conf");
    g << "spark.driver.extraJavaOptions -Dother=1\n";
  }
  LaunchConfig c = config_with_spark(home);
  auto site = sjs::site_spark_defaults(c, home, json::object());
  CHECK(site["spark.driver.extraJavaOptions"] == "-Dsite=1 -Dmore=2");
  CHECK(site["spark.executor.extraJavaOptions"] == "-Dexec=1");
  CHECK(site["spark.eventLog.enabled"] == "true");
  CHECK(site.count("spark.flag") == 1);
  CHECK(site.size() == 4);
  CHECK(sjs::site_spark_defaults(c, home, json{{"env", {{"SPARK_CONF_DIR", dir.path() + "/other"}}}})
            ["spark.driver.extraJavaOptions"] == "-Dother=1");
  c.spark_conf_dir = dir.path() + "/other";
  CHECK(sjs::site_spark_defaults(c, home, json::object())["spark.driver.extraJavaOptions"] == "-Dother=1");
  c.spark_conf_dir.clear();

  const Launch l = spark_launch(c, json{{"jvm-options", "-Dctx=1"},
                                        {"spark", {{"driver", {{"extraJavaOptions", "-Dmine=1"}}},
                                                   {"executor", {{"extraJavaOptions", "-Dmine.exec=1"}}}}}},
                                "s");
  CHECK(option_value(l, "--driver-java-options") ==
        "-Dsite=1 -Dmore=2 -XX:+ExitOnOutOfMemoryError -Dsjs.context=s -Dmine=1 -Dctx=1");
  CHECK(confs(l) == std::vector<std::string>{"spark.executor.extraJavaOptions=-Dexec=1 -Dmine.exec=1"});
  // Without executor options of its own, a context leaves the site's alone (no --conf at all).
  CHECK(confs(spark_launch(c, json::object(), "s")).empty());
}

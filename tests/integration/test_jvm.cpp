// The jvm and spark runtimes end to end: the real sjsd starting real JVM runners
// (build/sjs-runner.jar) and running the example jobs (build/sjs-examples.jar) and
// jars compiled here with javac against build/sjs-api.jar. The spark runtime runs
// through a fake spark-submit that records its command line and starts the runner
// without Spark.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace sjs::test;
using nlohmann::json;

namespace {

std::string api_jar() { return build_dir() + "/sjs-api.jar"; }
// sjsd finds the runner next to itself.
std::string runner_jar() {
  const std::string sjsd = k_sjsd;
  return sjsd.substr(0, sjsd.rfind('/')) + "/sjs-runner.jar";
}

// JVMs start in well under a second, but the machine may be busy: generous limits.
constexpr double k_slow = 60;

// Short grace periods; a sandbox with a context still up tears down fast.
const std::string k_conf = k_fast_grace_conf;

// Starts sjsd with no SPARK_HOME from the test's environment (an empty one means none),
// so that jars run on the jvm runtime unless the test configures a Spark home.
void start_daemon_without_spark(const Sandbox& sb) {
  auto r = run_process({k_sjs, "daemon", "start"}, {{"SJS_HOME", sb.home()}, {"SPARK_HOME", ""}});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

void upload_jar(const Sandbox& sb, const std::string& name, const std::string& path) {
  auto r = sb.sjs({"jar", "upload", name, path});
  INFO("jar upload " << name << ": " << r.err);
  REQUIRE(r.exit_code == 0);
}

// A sandbox with sjsd up (no Spark) and the examples uploaded as binary "ex".
void start_with_examples(const Sandbox& sb) {
  REQUIRE(std::filesystem::exists(examples_jar()));
  start_daemon_without_spark(sb);
  upload_jar(sb, "ex", examples_jar());
}

void create_context(const Sandbox& sb, const std::string& name, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"context", "create", name, "--runtime", "jvm"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = sb.sjs(args, "", k_slow);
  INFO("context create " << name << ": " << r.err);
  REQUIRE(r.exit_code == 0);
}

json context_json(const Sandbox& sb, const std::string& name) { return sb.context_json(name); }

json submit_sync_json(const Sandbox& sb, std::vector<std::string> args, int* exit_code = nullptr) {
  return sb.submit_sync_json(std::move(args), exit_code, k_slow);
}

// `sjs job wait ID`: its exit code.
int wait_exit(const Sandbox& sb, const std::string& id) {
  auto r = sb.sjs({"job", "wait", id}, "", k_slow);
  return r.exit_code;
}

// Compiles Java `sources` (relative path under src/ -> text) against sjs-api.jar; returns the classes dir.
std::string compile(const Sandbox& sb, const std::string& name, const std::map<std::string, std::string>& sources) {
  const std::string classes = sb.dir() + "/" + name + "/classes";
  std::vector<std::string> argv = {"/usr/bin/env", "javac", "-nowarn", "-cp", api_jar(), "-d", classes};
  for (const auto& [path, text] : sources) argv.push_back(sb.write_file(name + "/src/" + path, text));
  auto r = run_process(argv, {}, "", 180);
  INFO("javac: " << r.out << r.err);
  REQUIRE(r.exit_code == 0);
  return classes;
}

// A jar of the given top-level entries (package dirs) of a classes dir; returns its path.
std::string make_jar(const Sandbox& sb, const std::string& jar_name, const std::string& classes,
                     const std::vector<std::string>& entries) {
  const std::string path = sb.dir() + "/" + jar_name;
  std::vector<std::string> argv = {"/usr/bin/env", "jar", "cf", path};
  for (const auto& e : entries) argv.insert(argv.end(), {"-C", classes, e});
  auto r = run_process(argv, {}, "", 120);
  INFO("jar: " << r.out << r.err);
  REQUIRE(r.exit_code == 0);
  return path;
}

// A job class t.<cls> whose run() body is `body`.
std::string job_source(const std::string& cls, const std::string& body, const std::string& imports = "") {
  return "package t;\n" + imports +
         "import sjs.api.Config;\nimport sjs.api.Job;\nimport sjs.api.JobContext;\n"
         "public class " + cls + " implements Job {\n"
         "  @Override public Object run(JobContext ctx, Config config) throws Exception {\n" + body + "\n  }\n}\n";
}

}  // namespace

// ---- ad-hoc jar jobs ------------------------------------------------------------------------

TEST_CASE("an ad-hoc jar job runs its class in a JVM of its own and returns its result as JSON: "
          "WordCount, DoubleIt, HelloWorld",
          "[jvm]") {
  Sandbox sb(k_conf);
  start_with_examples(sb);

  auto wc = sb.sjs({"job", "submit", "ex", "sjs.examples.WordCount", "--sync", "--conf", "input.string=\"a b a c\""},
                   "", k_slow);
  INFO(wc.err);
  CHECK(wc.exit_code == 0);
  CHECK(wc.json() == json{{"a", 2}, {"b", 1}, {"c", 1}});

  int code = -1;
  auto d = submit_sync_json(sb, {"ex", "sjs.examples.DoubleIt"}, &code);
  CHECK(code == 0);
  CHECK(d["result"] == json::array({2, 4, 6}));
  CHECK(d["job"]["state"] == "FINISHED");
  CHECK(d["job"]["runtime"] == "jvm");  // no Spark home: jars default to the jvm runtime
  CHECK(d["job"]["adhoc"] == true);
  CHECK(d["job"]["entry"] == "sjs.examples.DoubleIt");

  auto d2 = submit_sync_json(sb, {"ex", "sjs.examples.DoubleIt", "--conf", "input.data=[5, 0.5]"}, &code);
  CHECK(code == 0);
  CHECK(d2["result"] == json::array({10, 1.0}));

  auto h = sb.sjs({"job", "submit", "ex", "sjs.examples.HelloWorld", "--sync"}, "", k_slow);
  CHECK(h.exit_code == 0);
  CHECK(h.out == "Hi!\n");

  // Each ad-hoc context ends with its job.
  CHECK(eventually([&] {
    auto r = sb.sjs_json({"context", "list"});
    return r.exit_code == 0 && r.json()["contexts"].empty();
  }, k_slow));
}

TEST_CASE("a jar job submitted without an ENTRY class is a usage error (exit 2) that says a class is needed",
          "[jvm]") {
  Sandbox sb(k_conf);
  start_with_examples(sb);
  auto r = sb.sjs({"job", "submit", "ex", "--sync"});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "is a jar"));
  CHECK(contains(r.err, "class"));
  // Nothing was recorded.
  auto list = sb.sjs_json({"job", "list"});
  REQUIRE(list.exit_code == 0);
  CHECK(list.json()["jobs"].empty());
}

// ---- job outcomes -------------------------------------------------------------------------

TEST_CASE("a jvm job whose validate() reports problems ends ERROR (validation): exit 3, 'VALIDATION FAILED' "
          "with the problem",
          "[jvm]") {
  Sandbox sb(k_conf);
  start_with_examples(sb);
  auto plain = sb.sjs({"job", "submit", "ex", "sjs.examples.WordCount", "--sync"}, "", k_slow);
  CHECK(plain.exit_code == 3);
  CHECK(contains(plain.err, "VALIDATION FAILED: missing input.string"));
  // The problem is said once, not again as a "stack".
  CHECK(plain.err.find("missing input.string") == plain.err.rfind("missing input.string"));

  int code = -1;
  auto j = submit_sync_json(sb, {"ex", "sjs.examples.WordCount"}, &code);
  CHECK(code == 3);
  CHECK(j["job"]["state"] == "ERROR");
  CHECK(j["job"]["end_reason"] == "validation");
  const std::string message = j["job"]["error"]["message"];
  CHECK(contains(message, "VALIDATION FAILED"));
  CHECK(contains(message, "missing input.string"));
  // It never ran: no RUNNING report came, so it has no result.
  CHECK(j["job"]["has_result"] == false);
}

TEST_CASE("a jvm job that throws ends ERROR (exit 1) with its exception's message, class and stack with the cause",
          "[jvm]") {
  Sandbox sb(k_conf);
  start_with_examples(sb);
  auto plain = sb.sjs({"job", "submit", "ex", "sjs.examples.Fail", "--sync"}, "", k_slow);
  CHECK(plain.exit_code == 1);
  CHECK(contains(plain.err, "boom"));

  int code = -1;
  auto j = submit_sync_json(sb, {"ex", "sjs.examples.Fail"}, &code);
  CHECK(code == 1);
  CHECK(j["job"]["state"] == "ERROR");
  CHECK(j["job"]["end_reason"] == "");
  CHECK(j["job"]["error"]["errorClass"] == "java.lang.IllegalStateException");
  CHECK(j["job"]["error"]["message"] == "boom");
  const json stack = j["job"]["error"]["stack"];
  REQUIRE(stack.is_array());
  bool has_frame = false, has_cause = false;
  for (const auto& line : stack) {
    has_frame = has_frame || contains(line.get<std::string>(), "sjs.examples.Fail.run");
    has_cause = has_cause || contains(line.get<std::string>(), "Caused by: java.lang.NumberFormatException");
  }
  CHECK(has_frame);
  CHECK(has_cause);
}

TEST_CASE("ctx.log() lines and progress reports of a jvm job go to its job log, in order", "[jvm]") {
  Sandbox sb(k_conf);
  start_with_examples(sb);
  int code = -1;
  auto j = submit_sync_json(sb, {"ex", "sjs.examples.Progress", "--conf", "steps.ms=10"}, &code);
  CHECK(code == 0);
  CHECK(j["result"] == "3 steps done");
  const std::string id = j["job"]["id"];
  auto log = sb.sjs({"job", "log", id});
  REQUIRE(log.exit_code == 0);
  const auto s1 = log.out.find("step 1 of 3\n");
  const auto s2 = log.out.find("step 2 of 3\n");
  const auto s3 = log.out.find("step 3 of 3\n");
  CHECK(s1 != std::string::npos);
  CHECK(s2 != std::string::npos);
  CHECK(s3 != std::string::npos);
  CHECK(s1 < s2);
  CHECK(s2 < s3);
  CHECK(contains(log.out, "[progress 100%] step 3"));
}

// ---- named jvm contexts -------------------------------------------------------------------

TEST_CASE("a named jvm context runs sync and async jobs in one JVM and queues jobs beyond its --max-jobs slots",
          "[jvm]") {
  Sandbox sb(k_conf);
  start_with_examples(sb);
  create_context(sb, "jc", {"--max-jobs", "2"});
  json c = context_json(sb, "jc");
  CHECK(c["state"] == "RUNNING");
  CHECK(c["runtime"] == "jvm");
  CHECK(c["max_jobs"] == 2);
  CHECK(c["adhoc"] == false);
  const std::string ctx_id = c["id"];
  CHECK(!ctx_id.empty());

  auto h = sb.sjs({"job", "submit", "ex", "sjs.examples.HelloWorld", "-c", "jc", "--sync"}, "", k_slow);
  INFO(h.err);
  CHECK(h.exit_code == 0);
  CHECK(h.out == "Hi!\n");

  const std::string async_id = sb.submit({"ex", "sjs.examples.DoubleIt", "-c", "jc"});
  auto w = sb.sjs_json({"job", "wait", async_id}, k_slow);
  CHECK(w.exit_code == 0);
  CHECK(w.json()["result"] == json::array({2, 4, 6}));
  json a = sb.job_json(async_id);
  CHECK(a["context"] == "jc");
  CHECK(a["adhoc"] == false);
  CHECK(a["runtime"] == "jvm");
  CHECK(a["pid"].get<int>() > 0);

  // Four one-second jobs in two slots.
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    ids.push_back(sb.submit({"ex", "sjs.examples.Sleep", "-c", "jc", "--conf", "sleep.seconds=1"}));
  }
  int max_running = 0, max_dispatched = 0;
  bool saw_queued = false;
  bool all_ended = eventually([&] {
    json cs = context_json(sb, "jc");
    max_dispatched = std::max(max_dispatched, cs["running"].get<int>());
    saw_queued = saw_queued || cs["queued"].get<int>() > 0;
    auto r = sb.sjs_json({"job", "list", "--context", "jc"});
    if (r.exit_code != 0) return false;
    int running = 0, ended = 0;
    const json list = r.json();  // held: a range-for over a temporary's member would dangle
    for (const auto& j : list["jobs"]) {
      if (std::find(ids.begin(), ids.end(), j["id"]) == ids.end()) continue;
      running += j["state"] == "RUNNING";
      ended += j["state"] == "FINISHED" || j["state"] == "ERROR" || j["state"] == "KILLED";
    }
    max_running = std::max(max_running, running);
    return ended == 4;
  }, k_slow);
  CHECK(all_ended);
  CHECK(max_running <= 2);
  CHECK(max_dispatched <= 2);
  CHECK(saw_queued);

  // From the recorded times: never more than two at once, and two did run at once.
  std::vector<std::pair<std::int64_t, std::int64_t>> spans;
  std::set<int> pids;
  for (const auto& id : ids) {
    json j = sb.job_json(id);
    CHECK(j["state"] == "FINISHED");
    auto res = sb.sjs_json({"job", "result", id});
    CHECK(res.json()["result"] == "slept 1 s");
    spans.emplace_back(j["started_ms"].get<std::int64_t>(), j["ended_ms"].get<std::int64_t>());
    pids.insert(j["pid"].get<int>());
  }
  int most_at_once = 0;
  for (const auto& [start, end] : spans) {
    int at_once = 0;
    for (const auto& [s, e] : spans) at_once += s <= start && start < e;
    most_at_once = std::max(most_at_once, at_once);
  }
  CHECK(most_at_once == 2);
  // All of them ran in the context's one JVM, the same one as the earlier job.
  CHECK(pids == std::set<int>{a["pid"].get<int>()});
  // Still the same context run.
  json after = context_json(sb, "jc");
  CHECK(after["state"] == "RUNNING");
  CHECK(after["id"] == ctx_id);
  CHECK(after["running"] == 0);
  CHECK(after["queued"] == 0);
}

TEST_CASE("re-uploading a jar takes effect for the next job in a running jvm context without restarting it, "
          "and System.out goes to the context log, not the job log",
          "[jvm]") {
  Sandbox sb(k_conf);
  start_daemon_without_spark(sb);
  const std::string v1 = compile(sb, "v1", {{"t/Version.java", job_source("Version",
                                    "System.out.println(\"stdout of v1\"); return \"v1\";")}});
  const std::string v2 = compile(sb, "v2", {{"t/Version.java", job_source("Version",
                                    "System.out.println(\"stdout of v2\"); return \"v2\";")}});
  upload_jar(sb, "ver", make_jar(sb, "v1.jar", v1, {"t"}));
  create_context(sb, "rc");
  const std::string ctx_id = context_json(sb, "rc")["id"];

  int code = -1;
  auto j1 = submit_sync_json(sb, {"ver", "t.Version", "-c", "rc"}, &code);
  CHECK(code == 0);
  CHECK(j1["result"] == "v1");
  CHECK(j1["job"]["binary_version"] == 1);

  upload_jar(sb, "ver", make_jar(sb, "v2.jar", v2, {"t"}));
  auto j2 = submit_sync_json(sb, {"ver", "t.Version", "-c", "rc"}, &code);
  CHECK(code == 0);
  CHECK(j2["result"] == "v2");
  CHECK(j2["job"]["binary_version"] == 2);

  json c = context_json(sb, "rc");
  CHECK(c["id"] == ctx_id);
  CHECK(c["state"] == "RUNNING");
  CHECK(j1["job"]["pid"] == j2["job"]["pid"]);  // the same JVM ran both versions

  // System.out: the context's log, shared by its jobs; never the job's own log.
  const std::string ctx_log = sb.home() + "/contexts/rc.log";
  CHECK(eventually([&] {
    const std::string text = read_all(ctx_log);
    return contains(text, "stdout of v1") && contains(text, "stdout of v2");
  }, 10));
  auto log = sb.sjs({"job", "log", j2["job"]["id"].get<std::string>()});
  CHECK(log.exit_code == 0);
  CHECK_FALSE(contains(log.out, "stdout of v2"));
}

TEST_CASE("a job submitted --with a dependency jar gets it on its class path, and without it the job fails to load "
          "(ERROR, exit 1)",
          "[jvm]") {
  Sandbox sb(k_conf);
  start_daemon_without_spark(sb);
  // t.UsesDep extends dep.Greeter: the class cannot even load without the dependency jar.
  const std::string classes = compile(
      sb, "withdep",
      {{"dep/Greeter.java",
        "package dep;\npublic class Greeter {\n"
        "  protected String greet(String who) { return \"hello \" + who + \" from dep\"; }\n}\n"},
       {"t/UsesDep.java",
        "package t;\nimport sjs.api.Config;\nimport sjs.api.Job;\nimport sjs.api.JobContext;\n"
        "public class UsesDep extends dep.Greeter implements Job {\n"
        "  @Override public Object run(JobContext ctx, Config config) {\n"
        "    return greet(config.getString(\"who\"));\n  }\n}\n"}});
  upload_jar(sb, "job", make_jar(sb, "job.jar", classes, {"t"}));
  upload_jar(sb, "dep", make_jar(sb, "dep.jar", classes, {"dep"}));
  create_context(sb, "wc");

  int code = -1;
  auto bare = submit_sync_json(sb, {"job", "t.UsesDep", "-c", "wc", "--conf", "who=world"}, &code);
  CHECK(code == 1);
  CHECK(bare["job"]["state"] == "ERROR");
  CHECK(bare["job"]["end_reason"] == "loading");
  CHECK(bare["job"]["error"]["errorClass"] == "java.lang.NoClassDefFoundError");
  CHECK(contains(bare["job"]["error"]["message"].get<std::string>(), "dep/Greeter"));
  CHECK(bare["job"]["dependencies"].empty());

  auto with = submit_sync_json(sb, {"job", "t.UsesDep", "-c", "wc", "--with", "dep", "--conf", "who=world"}, &code);
  CHECK(code == 0);
  CHECK(with["result"] == "hello world from dep");
  CHECK(with["job"]["dependencies"] == json::array({"dep:1"}));

  // An ad-hoc job takes --with the same way.
  auto adhoc = sb.sjs({"job", "submit", "job", "t.UsesDep", "--with", "dep", "--conf", "who=adhoc", "--sync"}, "",
                      k_slow);
  CHECK(adhoc.exit_code == 0);
  CHECK(adhoc.out == "hello adhoc from dep\n");
}

TEST_CASE("named objects live in their jvm context: PutObject then GetObject returns the value, `context objects` "
          "lists it, and concurrent getOrCreate runs the creator once",
          "[jvm]") {
  Sandbox sb(k_conf);
  start_with_examples(sb);
  create_context(sb, "ob", {"--max-jobs", "4"});

  int code = -1;
  auto put = submit_sync_json(sb, {"ex", "sjs.examples.PutObject", "-c", "ob", "--conf", "name=greeting",
                                   "--conf", "value={\"text\": \"hi\", \"n\": [1, 2]}"}, &code);
  CHECK(code == 0);
  const json value = {{"text", "hi"}, {"n", {1, 2}}};
  CHECK(put["result"] == json{{"name", "greeting"}, {"value", value}});

  auto get = submit_sync_json(sb, {"ex", "sjs.examples.GetObject", "-c", "ob", "--conf", "name=greeting"}, &code);
  CHECK(code == 0);
  CHECK(get["result"] == value);

  auto missing = submit_sync_json(sb, {"ex", "sjs.examples.GetObject", "-c", "ob", "--conf", "name=nope"}, &code);
  CHECK(code == 1);
  CHECK(missing["job"]["error"]["errorClass"] == "java.util.NoSuchElementException");

  auto objs = sb.sjs({"context", "objects", "ob"});
  INFO(objs.err);
  CHECK(objs.exit_code == 0);
  CHECK(lines_of(objs.out) == std::vector<std::string>{"greeting"});

  // Four at once: one creator runs (300 ms), the others wait for its value.
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(sb.submit({"ex", "sjs.examples.CountCreate", "-c", "ob"}));
  std::set<std::string> values;
  for (const auto& id : ids) {
    auto w = sb.sjs_json({"job", "wait", id}, k_slow);
    CHECK(w.exit_code == 0);
    values.insert(w.json()["result"].get<std::string>());
  }
  REQUIRE(values.size() == 1);
  const std::string created = *values.begin();
  bool by_one_of_them = false;
  for (const auto& id : ids) by_one_of_them = by_one_of_them || contains(created, "created by job " + id + " ");
  CHECK(by_one_of_them);

  auto all = sb.sjs_json({"context", "objects", "ob"});
  CHECK(all.exit_code == 0);
  std::set<std::string> names;
  const json listed = all.json();
  for (const auto& n : listed["objects"]) names.insert(n.get<std::string>());
  CHECK(names == std::set<std::string>{"greeting", "counter-shared"});

  // An exec context holds none.
  CHECK(sb.sjs({"context", "create", "plain"}).exit_code == 0);
  auto none = sb.sjs({"context", "objects", "plain"});
  CHECK(none.exit_code == 8);
  CHECK(contains(none.err, "no named objects"));
}

// ---- kill and failures of the JVM ---------------------------------------------------------

TEST_CASE("killing a jvm job: a job that checks for cancellation ends KILLED at once and its context runs on, "
          "while one that ignores the interrupt is KILLED by restarting its context after kill.grace-seconds",
          "[jvm]") {
  Sandbox sb(k_conf);
  start_with_examples(sb);
  const std::string classes = compile(
      sb, "stubborn",
      {{"t/Stubborn.java", job_source("Stubborn",
                                      "while (true) {\n"
                                      "  try { Thread.sleep(20); } catch (InterruptedException ignored) { }\n"
                                      "}")}});
  upload_jar(sb, "stubborn", make_jar(sb, "stubborn.jar", classes, {"t"}));
  create_context(sb, "kc");
  const json c0 = context_json(sb, "kc");

  // Sleep checks for a kill every 50 ms.
  const std::string sleeper = sb.submit({"ex", "sjs.examples.Sleep", "-c", "kc", "--conf", "sleep.seconds=30"});
  REQUIRE(sb.wait_for_state(sleeper, "RUNNING", k_slow));
  auto t0 = std::chrono::steady_clock::now();
  auto k = sb.sjs({"job", "kill", sleeper});
  INFO(k.err);
  CHECK(k.exit_code == 0);
  CHECK(wait_exit(sb, sleeper) == 4);
  CHECK(seconds_since(t0) < 10);
  json s = sb.job_json(sleeper);
  CHECK(s["state"] == "KILLED");
  CHECK(s["end_reason"] == "killed");  // end_reason::k_user
  json c1 = context_json(sb, "kc");
  CHECK(c1["state"] == "RUNNING");
  CHECK(c1["id"] == c0["id"]);
  auto h = sb.sjs({"job", "submit", "ex", "sjs.examples.HelloWorld", "-c", "kc", "--sync"}, "", k_slow);
  CHECK(h.exit_code == 0);
  CHECK(h.out == "Hi!\n");
  const int jvm_pid = sb.job_json(sleeper)["pid"];

  // The stubborn one swallows the interrupt: after kill.grace-seconds (1 s) the JVM goes.
  const std::string stubborn = sb.submit({"stubborn", "t.Stubborn", "-c", "kc"});
  REQUIRE(sb.wait_for_state(stubborn, "RUNNING", k_slow));
  t0 = std::chrono::steady_clock::now();
  auto k2 = sb.sjs({"job", "kill", stubborn}, "", k_slow);
  CHECK(k2.exit_code == 0);
  CHECK(wait_exit(sb, stubborn) == 4);
  const double took = seconds_since(t0);
  CHECK(took >= 0.9);  // it was given its grace period
  CHECK(took < 20);
  json st = sb.job_json(stubborn);
  CHECK(st["state"] == "KILLED");
  CHECK(st["end_reason"] == "killed");
  CHECK(contains(st["error"]["message"].get<std::string>(), "restarted"));
  CHECK(Sandbox::wait_gone(jvm_pid, 10));

  // The context comes back as a new run and serves the next job.
  CHECK(eventually([&] {
    json c = context_json(sb, "kc");
    return c["state"] == "RUNNING" && c["id"] != c0["id"];
  }, k_slow));
  int code = -1;
  auto next = submit_sync_json(sb, {"ex", "sjs.examples.HelloWorld", "-c", "kc"}, &code);
  CHECK(code == 0);
  CHECK(next["result"] == "Hi!");
  CHECK(next["job"]["pid"] != jvm_pid);
}

TEST_CASE("System.exit in a jvm job: the job ends ERROR saying its context died, the context restarts "
          "(RESTARTING, then RUNNING with a new id, named objects gone) and other contexts are untouched",
          "[jvm]") {
  Sandbox sb(k_conf);
  start_with_examples(sb);
  create_context(sb, "a");
  create_context(sb, "b");
  const json a0 = context_json(sb, "a");
  const json b0 = context_json(sb, "b");
  int code = -1;
  submit_sync_json(sb, {"ex", "sjs.examples.PutObject", "-c", "a", "--conf", "value=1"}, &code);
  REQUIRE(code == 0);
  auto b_before = submit_sync_json(sb, {"ex", "sjs.examples.HelloWorld", "-c", "b"}, &code);
  REQUIRE(code == 0);

  const std::string exit_job = sb.submit({"ex", "sjs.examples.Exit", "-c", "a"});
  std::set<std::string> states;
  std::string restart_why;
  bool back = eventually([&] {
    json c = context_json(sb, "a");
    states.insert(c["state"].get<std::string>());
    if (c["state"] == "RESTARTING") restart_why = c["error"];
    return c["state"] == "RUNNING" && c["id"] != a0["id"];
  }, k_slow);
  CHECK(back);
  CHECK(states.count("RESTARTING") == 1);
  CHECK(contains(restart_why, "exited with status 3"));

  CHECK(wait_exit(sb, exit_job) == 1);
  json e = sb.job_json(exit_job);
  CHECK(e["state"] == "ERROR");
  const std::string message = e["error"]["message"];
  CHECK(contains(message, "context a died"));
  CHECK(contains(message, "exited with status 3"));
  CHECK(e["error"]["errorClass"] == "sjs.ContextDied");

  auto h = submit_sync_json(sb, {"ex", "sjs.examples.HelloWorld", "-c", "a"}, &code);
  CHECK(code == 0);
  CHECK(h["result"] == "Hi!");
  CHECK(h["job"]["pid"] != e["pid"]);
  // The objects died with the JVM.
  submit_sync_json(sb, {"ex", "sjs.examples.GetObject", "-c", "a"}, &code);
  CHECK(code == 1);

  json b1 = context_json(sb, "b");
  CHECK(b1["state"] == "RUNNING");
  CHECK(b1["id"] == b0["id"]);
  auto b_after = submit_sync_json(sb, {"ex", "sjs.examples.HelloWorld", "-c", "b"}, &code);
  CHECK(code == 0);
  CHECK(b_after["job"]["pid"] == b_before["job"]["pid"]);
}

// ---- step pipelines on jars ---------------------------------------------------------------

TEST_CASE("a jar of @Step methods is a step library: binary steps lists them, a pipeline runs them in a jvm "
          "context with progress per step, and a bad pipeline is VALIDATION FAILED listing each problem",
          "[jvm][steps]") {
  Sandbox sb(k_conf);
  start_daemon_without_spark(sb);
  const std::string classes = compile(
      sb, "steplib",
      {{"t/TextSteps.java",
        "package t;\nimport java.util.*;\nimport sjs.api.JobContext;\nimport sjs.api.Step;\n"
        "public class TextSteps {\n"
        "  @Step(doc = \"The words of config input.string.\")\n"
        "  public static Object load(JobContext ctx, Object data) {\n"
        "    return Arrays.asList(ctx.config().getString(\"input.string\").split(\" \"));\n  }\n"
        "  @Step(\"count\")\n"
        "  public static Object countWords(JobContext ctx, Object data) {\n"
        "    Map<String, Integer> out = new TreeMap<>();\n"
        "    for (Object w : (List<?>) data) out.merge(String.valueOf(w), 1, Integer::sum);\n"
        "    return out;\n  }\n"
        "  @Step\n"
        "  public static Object atLeast(JobContext ctx, Object data, int n) {\n"
        "    Map<String, Integer> out = new TreeMap<>();\n"
        "    for (Map.Entry<?, ?> e : ((Map<?, ?>) data).entrySet()) {\n"
        "      if ((Integer) e.getValue() >= n) out.put(String.valueOf(e.getKey()), (Integer) e.getValue());\n"
        "    }\n    return out;\n  }\n}\n"}});
  upload_jar(sb, "textsteps", make_jar(sb, "textsteps.jar", classes, {"t"}));
  auto listing = sb.sjs_json({"binary", "steps", "textsteps"});
  INFO(listing.err);
  REQUIRE(listing.exit_code == 0);
  const json listed = listing.json();
  std::vector<std::string> names;
  for (const auto& s : listed["steps"]) names.push_back(s["name"]);
  CHECK(names == std::vector<std::string>{"atLeast", "count", "load"});
  CHECK(contains(sb.sjs({"binary", "steps", "textsteps"}).out, "The words of config input.string."));

  create_context(sb, "jc");
  int code = -1;
  auto r = submit_sync_json(sb, {"textsteps", "-c", "jc", "--steps", R"([["load"], ["count"], ["atLeast", 2]])", "--conf",
                                 "input.string=a b a c a b"},
                            &code);
  CHECK(code == 0);
  CHECK(r["result"] == json{{"a", 3}, {"b", 2}});
  const std::string log = sb.sjs({"job", "log", r["job"]["id"]}).out;
  CHECK(contains(log, "step 2/3: count"));

  r = submit_sync_json(sb, {"textsteps", "-c", "jc", "--steps", R"([["load"], ["cuont"], ["atLeast"]])"}, &code);
  CHECK(code == 3);
  const std::string why = r["job"]["error"].dump();
  CHECK(contains(why, "step 2"));
  CHECK(contains(why, "cuont"));
  CHECK(contains(why, "step 3"));

  // An exec binary is no step library.
  sb.upload_script("sh", "echo hi");
  auto not_lib = sb.sjs({"binary", "steps", "sh"});
  CHECK(not_lib.exit_code == 8);
  CHECK(contains(not_lib.err, "step libraries"));
}

// ---- the spark runtime through a fake spark-submit ----------------------------------------

TEST_CASE("spark contexts run the runner through SPARK_HOME/bin/spark-submit with the context's settings as "
          "options, and jars default to the spark runtime once a Spark home is configured",
          "[jvm][spark]") {
  Sandbox sb;
  const std::string spark_home = sb.dir() + "/fake-spark";
  const std::string records = sb.dir() + "/records";
  std::filesystem::create_directories(records);
  // Records its arguments and environment under the context's --name, then runs the runner
  // itself, without Spark.
  sb.write_file("fake-spark/bin/spark-submit",
                "#!/bin/sh\n"
                "name=unknown; prev=; last=\n"
                "for a in \"$@\"; do [ \"$prev\" = --name ] && name=\"$a\"; prev=\"$a\"; last=\"$a\"; done\n"
                "rec='" + records + "'/\"$name\"\n"
                ": > \"$rec.argv.tmp\"\n"
                "for a in \"$@\"; do printf '%s\\n' \"$a\" >> \"$rec.argv.tmp\"; done\n"
                "printf 'SJS_SPARK=%s\\nSPARK_HOME=%s\\nSJS_WORKER_FD=%s\\n' \"$SJS_SPARK\" \"$SPARK_HOME\" "
                "\"$SJS_WORKER_FD\" > \"$rec.env\"\n"
                "mv \"$rec.argv.tmp\" \"$rec.argv\"\n"
                "unset SJS_SPARK\n"
                "exec java -cp \"$last\" sjs.runner.Main\n",
                0755);
  sb.write_file("home/sjsd.conf", k_conf + "spark.home = \"" + spark_home + "\"\n");
  start_with_examples(sb);

  auto r = sb.sjs({"context", "create", "sp", "--runtime", "spark", "--set", "num-cpu-cores=4", "--set",
                   "memory-per-node=2g", "--set", "spark.executor.instances=3", "--set", "master=\"spark://h:7077\""},
                  "", k_slow);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  json c = context_json(sb, "sp");
  CHECK(c["state"] == "RUNNING");
  CHECK(c["runtime"] == "spark");

  const auto argv = lines_of(read_all(records + "/sjs-sp.argv"));
  REQUIRE(!argv.empty());
  auto after = [&](const std::string& option) {
    std::vector<std::string> values;
    for (std::size_t i = 0; i + 1 < argv.size(); ++i) {
      if (argv[i] == option) values.push_back(argv[i + 1]);
    }
    return values;
  };
  CHECK(after("--class") == std::vector<std::string>{"sjs.runner.Main"});
  CHECK(after("--master") == std::vector<std::string>{"spark://h:7077"});
  CHECK(after("--deploy-mode") == std::vector<std::string>{"client"});
  CHECK(after("--name") == std::vector<std::string>{"sjs-sp"});
  auto confs = after("--conf");
  std::sort(confs.begin(), confs.end());
  CHECK(confs == std::vector<std::string>{"spark.cores.max=4", "spark.executor.instances=3",
                                          "spark.executor.memory=2g"});
  CHECK(std::filesystem::equivalent(argv.back(), runner_jar()));
  const auto env = lines_of(read_all(records + "/sjs-sp.env"));
  CHECK(env == std::vector<std::string>{"SJS_SPARK=1", "SPARK_HOME=" + spark_home, "SJS_WORKER_FD=3"});

  int code = -1;
  auto h = submit_sync_json(sb, {"ex", "sjs.examples.WordCount", "-c", "sp", "--conf", "input.string=x y x"}, &code);
  CHECK(code == 0);
  CHECK(h["result"] == json{{"x", 2}, {"y", 1}});
  CHECK(h["job"]["runtime"] == "spark");

  // With a Spark home, an ad-hoc jar job runs on the spark runtime (default master local[*]).
  auto adhoc = submit_sync_json(sb, {"ex", "sjs.examples.HelloWorld"}, &code);
  CHECK(code == 0);
  CHECK(adhoc["result"] == "Hi!");
  CHECK(adhoc["job"]["runtime"] == "spark");
  const std::string adhoc_name = "sjs-" + adhoc["job"]["context"].get<std::string>();
  const auto adhoc_argv = lines_of(read_all(records + "/" + adhoc_name + ".argv"));
  REQUIRE(!adhoc_argv.empty());
  auto m = std::find(adhoc_argv.begin(), adhoc_argv.end(), "--master");
  REQUIRE(m + 1 < adhoc_argv.end());
  CHECK(*(m + 1) == "local[*]");
  CHECK(std::count(adhoc_argv.begin(), adhoc_argv.end(), "--conf") == 0);
}

TEST_CASE("without a Spark home, creating a spark context is refused with exit 8 naming spark.home", "[jvm][spark]") {
  Sandbox sb(k_conf);
  start_daemon_without_spark(sb);
  auto r = sb.sjs({"context", "create", "x", "--runtime", "spark"});
  CHECK(r.exit_code == 8);
  CHECK(contains(r.err, "spark.home"));
  auto list = sb.sjs_json({"context", "list"});
  REQUIRE(list.exit_code == 0);
  CHECK(list.json()["contexts"].empty());
  CHECK(sb.sjs({"context", "show", "x"}).exit_code == 7);
}

// ---- JVMs that cannot start ---------------------------------------------------------------

TEST_CASE("a jvm context whose java cannot be started: create fails with exit 13 naming the java and why, "
          "nothing is left behind, and sjsd keeps serving",
          "[jvm]") {
  Sandbox sb(k_conf + "jvm.java = \"/nonexistent/java\"\n");
  start_with_examples(sb);
  auto r = sb.sjs({"context", "create", "x", "--runtime", "jvm"}, "", k_slow);
  CHECK(r.exit_code == 13);
  CHECK(contains(r.err, "failed to start"));
  CHECK(contains(r.err, "/nonexistent/java"));
  CHECK(contains(r.err, "No such file or directory"));
  CHECK(sb.sjs({"context", "show", "x"}).exit_code == 7);

  // An ad-hoc jar job ends ERROR for the same reason.
  int code = -1;
  auto j = submit_sync_json(sb, {"ex", "sjs.examples.HelloWorld"}, &code);
  CHECK(code == 1);
  CHECK(j["job"]["state"] == "ERROR");
  CHECK(contains(j["job"]["error"]["message"].get<std::string>(), "/nonexistent/java"));

  // The daemon is fine: the name is free again, and exec jobs run.
  CHECK(sb.sjs({"context", "create", "x"}).exit_code == 0);
  sb.upload_script("echo", "echo '{\"ok\": true}'");
  auto e = sb.sjs({"job", "submit", "echo", "-c", "x", "--sync"});
  CHECK(e.exit_code == 0);
  CHECK(e.json() == json{{"ok", true}});
}

TEST_CASE("a jvm context whose JVM exits at start-up (a bad jvm-options) fails to create with exit 13 and the "
          "tail of the context log",
          "[jvm]") {
  Sandbox sb(k_conf);
  start_daemon_without_spark(sb);
  auto r = sb.sjs({"context", "create", "bad", "--runtime", "jvm", "--set", "jvm-options=\"-XX:+NoSuchSjsOption\""},
                  "", k_slow);
  CHECK(r.exit_code == 13);
  CHECK(contains(r.err, "exited with status 1"));
  CHECK(contains(r.err, "NoSuchSjsOption"));  // the JVM's own complaint, from the context log
  CHECK(sb.sjs({"context", "show", "bad"}).exit_code == 7);
  // The same name with sane settings works.
  auto ok = sb.sjs({"context", "create", "bad", "--runtime", "jvm"}, "", k_slow);
  CHECK(ok.exit_code == 0);
}

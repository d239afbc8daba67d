// The python and pyspark runtimes end to end: the real sjsd starting the real Python runner
// (build/python/sjs_runner.py) with the real interpreter, driven by the real `sjs` and by curl.
// PySpark runs through a fake SPARK_HOME whose stand-in pyspark starts bin/spark-submit from
// PYSPARK_SUBMIT_ARGS as the real one does, so the exact spark-submit line is checked without Spark.
#include <algorithm>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.hpp"
#include "http_sandbox.hpp"

using namespace sjs::test;
using nlohmann::json;

namespace {

constexpr double k_slow = 60;
const std::string k_conf = k_fast_grace_conf;

std::string example(const std::string& rel) { return std::string(k_source) + "/examples/python/" + rel; }

void start(const Sandbox& sb, const std::map<std::string, std::string>& env = {{"SPARK_HOME", ""}}) {
  std::map<std::string, std::string> e = env;
  e["SJS_HOME"] = sb.home();
  auto r = run_process({k_sjs, "daemon", "start"}, e);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

void upload(const Sandbox& sb, const std::string& name, const std::string& path) {
  auto r = sb.sjs({"binary", "upload", name, path});
  INFO("binary upload " << name << ": " << r.err);
  REQUIRE(r.exit_code == 0);
}

// Writes a .py under the sandbox and uploads it as binary `name`.
void upload_py(const Sandbox& sb, const std::string& name, const std::string& source) {
  upload(sb, name, sb.write_file(name + ".py", source));
}

void create_python_context(const Sandbox& sb, const std::string& name, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"context", "create", name, "--runtime", "python"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = sb.sjs(args, "", k_slow);
  INFO("context create " << name << ": " << r.err);
  REQUIRE(r.exit_code == 0);
}

json submit_sync(const Sandbox& sb, std::vector<std::string> args, int* exit_code) {
  return sb.submit_sync_json(std::move(args), exit_code, k_slow);
}

std::string job_log(const Sandbox& sb, const std::string& id) { return sb.sjs({"job", "log", id}).out; }

json context_json(const Sandbox& sb, const std::string& name) { return sb.context_json(name); }

}  // namespace

// ---- jobs, entries, outcomes ------------------------------------------------------------------

TEST_CASE("an ad-hoc python job runs a module:function or a Class of a .py upload and returns its result, "
          "validate() problems are VALIDATION FAILED (exit 3), ctx.log, print and progress reach the job log",
          "[python]") {
  Sandbox sb(k_conf);
  start(sb);
  upload(sb, "wordcount", example("wordcount.py"));
  int code = -1;
  json r = submit_sync(sb, {"wordcount", "wordcount:run", "--conf", "input.string=to be or not to be"}, &code);
  CHECK(code == 0);
  CHECK(r["result"] == json{{"be", 2}, {"not", 1}, {"or", 1}, {"to", 2}});
  CHECK(r["job"]["runtime"] == "python");
  CHECK(r["job"]["adhoc"] == true);
  const std::string log = job_log(sb, r["job"]["id"]);
  CHECK(contains(log, "counting the words of 18 characters"));
  CHECK(contains(log, "[progress 50%] split"));

  // The class form, and a .py's module implied: just the Class.
  r = submit_sync(sb, {"wordcount", "WordCount", "--conf", "input.string=a a"}, &code);
  CHECK(code == 0);
  CHECK(r["result"] == json{{"a", 2}});
  r = submit_sync(sb, {"wordcount", "WordCount"}, &code);
  CHECK(code == 3);
  CHECK(r["job"]["end_reason"] == "validation");
  CHECK(contains(r["job"]["error"]["message"].get<std::string>(), "missing input.string"));

  // No ENTRY: a usage error saying what ENTRY is.
  auto none = sb.sjs({"job", "submit", "wordcount"});
  CHECK(none.exit_code == 2);
  CHECK(contains(none.err, "module:function"));
}

TEST_CASE("a .py that does not compile is refused at upload with its file, line and message (exit 8), "
          "and nothing is stored",
          "[python]") {
  Sandbox sb(k_conf);
  start(sb);
  auto r = sb.sjs({"binary", "upload", "bad", sb.write_file("broken.py", "def ok():\n    return 1\n\ndef f(:\n  pass\n")});
  CHECK(r.exit_code == 8);
  CHECK(contains(r.err, "broken.py, line 4"));
  CHECK(contains(r.err, "def f(:"));
  CHECK(sb.sjs({"binary", "show", "bad"}).exit_code == 7);
  CHECK(std::filesystem::is_empty(sb.home() + "/blobs"));
}

TEST_CASE("bad python jobs end ERROR with a clear cause and leave the context running: a wrong ENTRY names what "
          "exists, an exception has its type and traceback, sys.exit ends only the job, a result that is not "
          "JSON becomes text",
          "[python]") {
  Sandbox sb(k_conf);
  start(sb);
  upload_py(sb, "bad",
            "import sys, os\n"
            "def boom(ctx, config):\n    raise ValueError('no good ' + config.get('why', ''))\n"
            "def leave(ctx, config):\n    sys.exit(3)\n"
            "class Thing:\n    def __str__(self):\n        return 'a thing'\n"
            "def odd(ctx, config):\n    return {'thing': Thing(), 'bytes': b'hi', 'set': {2, 1}, 'tuple': (1, 'x')}\n"
            "def fine(ctx, config):\n    return 'fine'\n");
  create_python_context(sb, "py");
  int code = -1;
  json r = submit_sync(sb, {"bad", "bad:bomb", "-c", "py"}, &code);
  CHECK(code == 1);
  CHECK(r["job"]["end_reason"] == "loading");
  const std::string missing = r["job"]["error"]["message"];
  CHECK(contains(missing, "bomb"));
  CHECK(contains(missing, "boom"));  // what it has instead
  r = submit_sync(sb, {"bad", "nosuch.module:run", "-c", "py"}, &code);
  CHECK(code == 1);
  CHECK(contains(r["job"]["error"]["message"].get<std::string>(), "nosuch"));

  r = submit_sync(sb, {"bad", "bad:boom", "-c", "py", "--conf", "why=at all"}, &code);
  CHECK(code == 1);
  CHECK(r["job"]["error"]["message"] == "no good at all");
  CHECK(contains(r["job"]["error"]["errorClass"].get<std::string>(), "ValueError"));
  CHECK(contains(r["job"]["error"]["stack"].dump(), "line 3"));

  r = submit_sync(sb, {"bad", "bad:leave", "-c", "py"}, &code);
  CHECK(code == 1);
  CHECK(contains(r["job"]["error"]["message"].get<std::string>(), "sys.exit(3)"));
  CHECK(context_json(sb, "py")["state"] == "RUNNING");

  r = submit_sync(sb, {"bad", "bad:odd", "-c", "py"}, &code);
  CHECK(code == 0);
  CHECK(r["result"]["thing"] == "a thing");
  CHECK(r["result"]["bytes"] == "aGk=");
  CHECK(r["result"]["set"] == json{1, 2});
  CHECK(r["result"]["tuple"] == json{1, "x"});
  r = submit_sync(sb, {"bad", "fine", "-c", "py"}, &code);
  CHECK(code == 0);
  CHECK(r["result"] == "fine");
}

TEST_CASE("os._exit or a segfault in a python job ends the interpreter: its running jobs end ERROR saying the context died, "
          "the context restarts and runs the next job, other contexts are untouched",
          "[python]") {
  Sandbox sb(k_conf);
  start(sb);
  upload_py(sb, "die",
            "import ctypes, os, time\n"
            "def die(ctx, config):\n    os._exit(7)\n"
            "def segv(ctx, config):\n    ctypes.string_at(0)\n"
            "def wait(ctx, config):\n    time.sleep(30)\n"
            "def ok(ctx, config):\n    return os.getpid()\n");
  create_python_context(sb, "a", {"--max-jobs", "2"});
  create_python_context(sb, "b");
  int code = -1;
  const int pid_b = submit_sync(sb, {"die", "ok", "-c", "b"}, &code)["result"];
  const int pid_a = submit_sync(sb, {"die", "ok", "-c", "a"}, &code)["result"];
  const std::string waiting = sb.submit({"die", "wait", "-c", "a"});
  REQUIRE(sb.wait_for_state(waiting, "RUNNING"));
  json r = submit_sync(sb, {"die", "die", "-c", "a"}, &code);
  CHECK(code == 1);
  CHECK(contains(r["job"]["error"]["message"].get<std::string>(), "context a died"));
  REQUIRE(sb.wait_for_state(waiting, "ERROR"));
  CHECK(contains(sb.job_json(waiting)["error"]["message"].get<std::string>(), "died"));
  REQUIRE(eventually([&] { return context_json(sb, "a")["state"] == "RUNNING"; }, k_slow));
  r = submit_sync(sb, {"die", "ok", "-c", "a"}, &code);
  CHECK(code == 0);
  const int pid_a2 = r["result"];
  CHECK(pid_a2 != pid_a);

  // A segfault (ctypes) the same way: the job ends ERROR naming the signal, the context comes back.
  r = submit_sync(sb, {"die", "segv", "-c", "a"}, &code);
  CHECK(code == 1);
  CHECK(contains(r["job"]["error"]["message"].get<std::string>(), "context a died"));
  CHECK(contains(r["job"]["error"]["message"].get<std::string>(), "SIGSEGV"));
  REQUIRE(eventually([&] { return context_json(sb, "a")["state"] == "RUNNING"; }, k_slow));
  r = submit_sync(sb, {"die", "ok", "-c", "a"}, &code);
  CHECK(code == 0);
  CHECK(r["result"] != pid_a2);
  CHECK(submit_sync(sb, {"die", "ok", "-c", "b"}, &code)["result"] == pid_b);
}

TEST_CASE("killing python jobs: a loop ends KILLED at once (exit 4), a job stuck in a C call is KILLED after "
          "kill.grace-seconds by restarting its context",
          "[python]") {
  Sandbox sb(k_conf);
  start(sb);
  upload_py(sb, "loops",
            "import time\n"
            "def spin(ctx, config):\n    while True:\n        pass\n"
            "def stuck(ctx, config):\n    time.sleep(3600)\n"
            "def ok(ctx, config):\n    return 1\n");
  create_python_context(sb, "py", {"--max-jobs", "2"});
  const std::string spin = sb.submit({"loops", "spin", "-c", "py"});
  REQUIRE(sb.wait_for_state(spin, "RUNNING"));
  CHECK(sb.sjs({"job", "kill", spin}).exit_code == 0);
  REQUIRE(sb.wait_for_state(spin, "KILLED"));
  CHECK(context_json(sb, "py")["state"] == "RUNNING");

  const std::string stuck = sb.submit({"loops", "stuck", "-c", "py"});
  REQUIRE(sb.wait_for_state(stuck, "RUNNING"));
  CHECK(sb.sjs({"job", "kill", stuck}).exit_code == 0);
  REQUIRE(sb.wait_for_state(stuck, "KILLED", k_slow));
  REQUIRE(eventually([&] { return context_json(sb, "py")["state"] == "RUNNING"; }, k_slow));
  int code = -1;
  CHECK(submit_sync(sb, {"loops", "ok", "-c", "py"}, &code)["result"] == 1);
}

// ---- contexts: threads, logs, named objects, namespaces ------------------------------------------

TEST_CASE("a python context runs jobs on threads: each job's print and logging land in its own log under "
          "concurrency, and concurrent get_or_create runs its creator once",
          "[python]") {
  Sandbox sb(k_conf);
  start(sb);
  upload_py(sb, "talk",
            "import logging, time, threading\n"
            "made = []\n"
            "def make():\n    made.append(1)\n    time.sleep(0.5)\n    return {'n': len(made)}\n"
            "def talk(ctx, config):\n"
            "    me = config['me']\n"
            "    shared = ctx.objects.get_or_create('shared', make)\n"
            "    for i in range(50):\n"
            "        print('line', me, i)\n"
            "        logging.getLogger('x').warning('logged %s %d', me, i)\n"
            "        time.sleep(0.002)\n"
            "    return {'made': len(made), 'shared': shared['n']}\n");
  create_python_context(sb, "py", {"--max-jobs", "4"});
  std::vector<std::string> ids;
  for (const char* me : {"A", "B", "C", "D"}) ids.push_back(sb.submit({"talk", "talk", "-c", "py", "--conf", std::string("me=") + me}));
  const char* names[] = {"A", "B", "C", "D"};
  for (std::size_t i = 0; i < ids.size(); ++i) {
    REQUIRE(sb.wait_for_state(ids[i], "FINISHED", k_slow));
    auto res = sb.sjs_json({"job", "result", ids[i]}).json();
    CHECK(res["result"]["made"] == 1);
    CHECK(res["result"]["shared"] == 1);
    const auto lines = lines_of(job_log(sb, ids[i]));
    int printed = 0, logged = 0;
    for (const auto& l : lines) {
      if (contains(l, "line ")) {
        CHECK(contains(l, std::string("line ") + names[i] + " "));
        ++printed;
      }
      if (contains(l, "logged ")) {
        CHECK(contains(l, std::string("logged ") + names[i] + " "));
        ++logged;
      }
    }
    CHECK(printed == 50);
    CHECK(logged == 50);
  }
  auto objects = sb.sjs({"context", "objects", "py"});
  CHECK(objects.exit_code == 0);
  CHECK(contains(objects.out, "shared"));
}

TEST_CASE("a re-uploaded python binary takes effect for the next job without a restart, a running job keeps "
          "its modules, and --with puts another binary on the job's path",
          "[python]") {
  Sandbox sb(k_conf);
  start(sb);
  const std::string gate = sb.dir() + "/gate";
  upload_py(sb, "lib", "def greeting():\n    return 'hello'\n");
  upload_py(sb, "app",
            "import os, time\nimport lib\nVERSION = 1\n"
            "def hold(ctx, config):\n    while not os.path.exists(config['gate']):\n        time.sleep(0.02)\n"
            "    return VERSION\n"
            "def version(ctx, config):\n    return VERSION\n"
            "def greet(ctx, config):\n    return lib.greeting()\n");
  create_python_context(sb, "py", {"--max-jobs", "2"});
  const std::string held = sb.submit({"app", "hold", "-c", "py", "--with", "lib", "--conf", "gate=" + gate});
  REQUIRE(sb.wait_for_state(held, "RUNNING"));
  int code = -1;
  CHECK(submit_sync(sb, {"app", "greet", "-c", "py", "--with", "lib"}, &code)["result"] == "hello");
  upload_py(sb, "app",
            "VERSION = 2\n"
            "def version(ctx, config):\n    return VERSION\n");
  CHECK(submit_sync(sb, {"app", "version", "-c", "py"}, &code)["result"] == 2);
  touch(gate);
  REQUIRE(sb.wait_for_state(held, "FINISHED"));
  CHECK(sb.sjs_json({"job", "result", held}).json()["result"] == 1);

  // Without --with, the import fails at loading and says so.
  upload_py(sb, "needs", "import lib\ndef run(ctx, config):\n    return lib.greeting()\n");
  json r = submit_sync(sb, {"needs", "run", "-c", "py"}, &code);
  CHECK(code == 1);
  CHECK(contains(r["job"]["error"].dump(), "lib"));
  CHECK(submit_sync(sb, {"needs", "run", "-c", "py", "--with", "lib"}, &code)["result"] == "hello");
}

TEST_CASE("a wheel uploaded without --type is detected as one and its package runs, ad hoc and --with",
          "[python]") {
  Sandbox sb(k_conf);
  start(sb);
  const std::string whl = sb.dir() + "/greet-1.0-py3-none-any.whl";
  auto z = run_process({"/usr/bin/env", "python3", "-c",
                        "import sys, zipfile\n"
                        "with zipfile.ZipFile(sys.argv[1], 'w') as z:\n"
                        "    z.writestr('greet/__init__.py', 'from .words import hello\\n')\n"
                        "    z.writestr('greet/words.py', 'def hello(who):\\n    return \"hello \" + who\\n')\n"
                        "    z.writestr('greet/job.py', 'from . import hello\\ndef run(ctx, config):\\n"
                        "    return hello(config.get(\"who\", \"you\"))\\n')\n"
                        "    z.writestr('greet-1.0.dist-info/METADATA', 'Name: greet\\nVersion: 1.0\\n')\n",
                        whl});
  INFO(z.err);
  REQUIRE(z.exit_code == 0);
  upload(sb, "greet", whl);
  CHECK(sb.sjs_json({"binary", "show", "greet"}).json()["versions"][0]["type"] == "wheel");
  int code = -1;
  json r = submit_sync(sb, {"greet", "greet.job:run", "--conf", "who=wheels"}, &code);
  CHECK(code == 0);
  CHECK(r["result"] == "hello wheels");
  upload_py(sb, "usesgreet", "import greet\ndef run(ctx, config):\n    return greet.hello('py')\n");
  CHECK(submit_sync(sb, {"usesgreet", "run", "--with", "greet"}, &code)["result"] == "hello py");
}

// ---- step pipelines ---------------------------------------------------------------------------

TEST_CASE("step pipelines: binary steps lists a library's steps, a pipeline runs them in order with progress per "
          "step, bad pipelines are VALIDATION FAILED listing every problem, malformed --steps is exit 8, "
          "and secret options reach the steps but are never shown",
          "[python][steps]") {
  Sandbox sb(k_conf);
  start(sb);
  upload(sb, "steps", example("steps.py"));
  auto listing = sb.sjs({"binary", "steps", "steps"});
  REQUIRE(listing.exit_code == 0);
  CHECK(contains(listing.out, "count_by_value"));
  CHECK(contains(listing.out, "n=10"));
  auto listed = sb.sjs_json({"binary", "steps", "steps"}).json();
  std::vector<std::string> names;
  for (const auto& s : listed["steps"]) names.push_back(s["name"]);
  CHECK(names == std::vector<std::string>{"count_by_value", "filter", "load_text", "map", "top", "words"});

  upload_py(sb, "secretive",
            "from sjs import step\n"
            "@step\ndef check(ctx, data):\n    return ctx.config.get('fs.s3a.secret.key') == 'hunter2'\n");
  int code = -1;
  json r = submit_sync(sb, {"steps", "--steps", R"([["load_text"], ["words"], ["map", "lower"], ["count_by_value"], ["top", 2]])",
                            "--conf", "input.string=B a b c a b"},
                       &code);
  CHECK(code == 0);
  CHECK(r["result"] == json::parse(R"([["b", 3], ["a", 2]])"));
  CHECK(r["job"]["steps"].size() == 5);
  const std::string log = job_log(sb, r["job"]["id"]);
  CHECK(contains(log, "step 1/5: load_text"));
  CHECK(contains(log, "step 5/5: top"));

  const std::string file = sb.write_file("pipeline.json", R"([["load_text"], ["wrods"], ["top", 1, 2]])");
  r = submit_sync(sb, {"steps", "--steps", "@" + file}, &code);
  CHECK(code == 3);
  const std::string why = r["job"]["error"].dump();
  CHECK(contains(why, "step 2"));
  CHECK(contains(why, "wrods"));
  CHECK(contains(why, "step 3"));

  auto malformed = sb.sjs({"job", "submit", "steps", "--steps", R"([["words"], 7])"});
  CHECK(malformed.exit_code == 8);
  CHECK(contains(malformed.err, "step 2"));
  CHECK(sb.sjs({"job", "submit", "steps", "--steps", "not json"}).exit_code == 2);
  CHECK(sb.sjs({"job", "submit", "steps", "words", "--steps", R"([["words"]])"}).exit_code == 2);
  sb.upload_script("sh", "echo hi");
  auto on_exec = sb.sjs({"job", "submit", "sh", "--steps", R"([["words"]])"});
  CHECK(on_exec.exit_code == 8);
  CHECK(contains(on_exec.err, "step pipelines"));

  // A secret option reaches the step, and no output shows it.
  r = submit_sync(sb, {"secretive", "--steps", R"([["check"]])", "--conf", "fs.s3a.secret.key=hunter2"}, &code);
  CHECK(code == 0);
  CHECK(r["result"] == true);
  const std::string id = r["job"]["id"];
  for (const auto& args : std::vector<std::vector<std::string>>{{"job", "config", id}, {"job", "status", id}, {"job", "log", id}}) {
    CHECK(!contains(sb.sjs(args).out, "hunter2"));
    CHECK(!contains(sb.sjs_json(args).out, "hunter2"));
  }
}

// ---- pyspark and the spark-submit line ---------------------------------------------------------

namespace {

// A fake SPARK_HOME: bin/spark-submit records its arguments and exits; python/pyspark is a stand-in
// that, like the real pyspark's gateway, runs `$SPARK_HOME/bin/spark-submit $PYSPARK_SUBMIT_ARGS`
// once, then offers a SparkSession whose SparkContext counts words locally and records job groups.
std::string make_fake_spark(const Sandbox& sb, const std::string& records) {
  const std::string home = sb.dir() + "/fake-spark";
  std::filesystem::create_directories(records);
  sb.write_file("fake-spark/bin/spark-submit",
                "#!/bin/sh\n"
                "name=unknown; prev=\n"
                "for a in \"$@\"; do [ \"$prev\" = --name ] && name=\"$a\"; prev=\"$a\"; done\n"
                ": > '" + records + "'/\"$name\".argv\n"
                "for a in \"$@\"; do printf '%s\\n' \"$a\" >> '" + records + "'/\"$name\".argv; done\n",
                0755);
  sb.write_file("fake-spark/python/pyspark/__init__.py",
                "import os, shlex, subprocess, threading\n"
                "class SparkConf:\n    def contains(self, key):\n        return False\n"
                "class RDD:\n"
                "    def __init__(self, items):\n        self.items = list(items)\n"
                "    def countByValue(self):\n        out = {}\n        for i in self.items:\n            out[i] = out.get(i, 0) + 1\n        return out\n"
                "    def collect(self):\n        return list(self.items)\n"
                "class SparkContext:\n"
                "    _started = False\n"
                "    @classmethod\n    def _ensure_initialized(cls):\n"
                "        if not cls._started:\n"
                "            cls._started = True\n"
                "            subprocess.check_call([os.environ['SPARK_HOME'] + '/bin/spark-submit'] + shlex.split(os.environ.get('PYSPARK_SUBMIT_ARGS', 'pyspark-shell')))\n"
                "    def __init__(self, master=None, name=None):\n"
                "        self.master = master or 'local[*]'\n        self.appName = name\n        self.version = '3.5.0-fake'\n"
                "        self.applicationId = 'fake-app'\n        self.groups = []\n        self.cancelled = []\n"
                "    def setJobGroup(self, group, description, interruptOnCancel=False):\n        self.groups.append(group)\n"
                "    def setLocalProperty(self, key, value):\n        pass\n"
                "    def cancelJobGroup(self, group):\n        self.cancelled.append(group)\n"
                "    def addPyFile(self, path):\n        pass\n"
                "    def parallelize(self, items):\n        return RDD(items)\n"
                "    def stop(self):\n        pass\n");
  sb.write_file("fake-spark/python/pyspark/sql/__init__.py",
                "from pyspark import SparkContext\n"
                "class _Builder:\n"
                "    def master(self, m):\n        self._m = m\n        return self\n"
                "    def appName(self, n):\n        self._n = n\n        return self\n"
                "    def config(self, *a, **k):\n        return self\n"
                "    def getOrCreate(self):\n        return SparkSession(SparkContext(getattr(self, '_m', None), getattr(self, '_n', None)))\n"
                "class SparkSession:\n"
                "    builder = _Builder()\n"
                "    def __init__(self, sc):\n        self.sparkContext = sc\n"
                "    def stop(self):\n        pass\n"
                "class SQLContext:\n"
                "    def __init__(self, sc, session=None):\n        self._sc = sc\n");
  // The site's defaults: sjs must keep these driver options, not replace them.
  sb.write_file("fake-spark/conf/spark-defaults.conf",
                "# site defaults\n"
                "spark.driver.extraJavaOptions   --add-opens=java.base/sun.nio.ch=ALL-UNNAMED -Dsite=1\n"
                "spark.executor.extraJavaOptions=-Dsite.exec=1\n");
  return home;
}

}  // namespace

TEST_CASE("pyspark contexts: pyspark starts spark-submit with the context's settings and the site's driver "
          "options kept, jobs get the SparkSession and run in their own job group",
          "[python][pyspark]") {
  Sandbox sb(k_conf);
  const std::string records = sb.dir() + "/records";
  const std::string spark_home = make_fake_spark(sb, records);
  start(sb, {{"SPARK_HOME", spark_home}});
  upload(sb, "wordcount", example("wordcount.py"));
  auto r = sb.sjs({"context", "create", "ps", "--runtime", "pyspark", "--set", "num-cpu-cores=4", "--set",
                   "master=\"spark://h:7077\"", "--set", "jvm-options=\"-Dctx=1\"", "--set",
                   "spark.executor.extraJavaOptions=\"-Dctx.exec=1\""},
                  "", k_slow);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(context_json(sb, "ps")["runtime"] == "pyspark");
  const auto argv = lines_of(read_all(records + "/sjs-ps.argv"));
  const std::vector<std::string> expected = {
      "--master", "spark://h:7077", "--deploy-mode", "client", "--name", "sjs-ps", "--driver-java-options",
      "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED -Dsite=1 -XX:+ExitOnOutOfMemoryError -Dsjs.context=ps -Dctx=1",
      "--conf", "spark.cores.max=4", "--conf", "spark.executor.extraJavaOptions=-Dsite.exec=1 -Dctx.exec=1",
      "pyspark-shell"};
  CHECK(argv == expected);

  int code = -1;
  json job = submit_sync(sb, {"wordcount", "WordCount", "-c", "ps", "--conf", "input.string=x y x"}, &code);
  CHECK(code == 0);
  CHECK(job["result"] == json{{"x", 2}, {"y", 1}});  // counted through ctx.sc (the fake's RDD)
  CHECK(job["job"]["runtime"] == "pyspark");

  // Each job runs in its own job group; a kill cancels it.
  upload_py(sb, "groups",
            "def spin(ctx, config):\n    while True:\n        ctx.check_cancelled()\n"
            "def seen(ctx, config):\n    return {'groups': ctx.sc.groups, 'cancelled': ctx.sc.cancelled}\n");
  const std::string spin = sb.submit({"groups", "spin", "-c", "ps"});
  REQUIRE(sb.wait_for_state(spin, "RUNNING"));
  CHECK(sb.sjs({"job", "kill", spin}).exit_code == 0);
  REQUIRE(sb.wait_for_state(spin, "KILLED"));
  json seen = submit_sync(sb, {"groups", "seen", "-c", "ps"}, &code);
  REQUIRE(code == 0);
  const std::string groups = seen["result"]["groups"].dump();
  CHECK(contains(groups, job["job"]["id"].get<std::string>()));
  CHECK(contains(groups, spin));
  CHECK(seen["result"]["cancelled"] == json::array({spin}));
}

TEST_CASE("spark (jar) contexts keep the site's spark-defaults.conf driver options too", "[python][pyspark]") {
  Sandbox sb(k_conf);
  const std::string records = sb.dir() + "/records";
  const std::string spark_home = make_fake_spark(sb, records);
  start(sb, {{"SPARK_HOME", spark_home}});
  // The fake spark-submit exits without starting a runner: the context fails to start, after the
  // line is recorded.
  sb.sjs({"context", "create", "sp", "--runtime", "spark"}, "", k_slow);
  const auto argv = lines_of(read_all(records + "/sjs-sp.argv"));
  auto it = std::find(argv.begin(), argv.end(), "--driver-java-options");
  REQUIRE(it != argv.end());
  REQUIRE(it + 1 != argv.end());
  CHECK(*(it + 1) == "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED -Dsite=1 -XX:+ExitOnOutOfMemoryError -Dsjs.context=sp");
}

// ---- spark-jobserver Python jobs and the pipeline routes over HTTP --------------------------------

TEST_CASE("over HTTP: a spark-jobserver egg uploaded as application/python-archive runs its SparkJob unchanged on "
          "a context made by PythonSessionContextFactory, validation failing (400) and succeeding",
          "[python][http]") {
  HttpSandbox h;
  const std::string egg = h.sb().dir() + "/wordcount_sjs.egg";
  auto z = run_process({"/usr/bin/env", "python3", "-c",
                        "import sys, zipfile, os\n"
                        "src = sys.argv[1]\n"
                        "with zipfile.ZipFile(sys.argv[2], 'w') as z:\n"
                        "    for f in os.listdir(os.path.join(src, 'wordcount_sjs')):\n"
                        "        if f.endswith('.py'): z.write(os.path.join(src, 'wordcount_sjs', f), 'wordcount_sjs/' + f)\n",
                        example("sjs_style"), egg});
  REQUIRE(z.exit_code == 0);
  auto up = h.post("/binaries/wc-sjs", read_all(egg), {"Content-Type: application/python-archive"});
  INFO(up.body);
  REQUIRE(up.status == 201);
  CHECK(h.get("/binaries/wc-sjs").js()["binary-type"] == "Egg");
  auto ctx = h.post("/contexts/pyctx?context-factory=spark.jobserver.python.PythonSessionContextFactory");
  INFO(ctx.body);
  REQUIRE(ctx.status == 200);
  CHECK(h.sb().sjs_json({"context", "show", "pyctx"}).json()["runtime"] == "python");

  auto ok = h.post("/jobs?appName=wc-sjs&classPath=wordcount_sjs.WordCountSparkJob&context=pyctx&sync=true",
                   "input.strings = [\"a\", \"b\", \"a\"]");
  INFO(ok.body);
  CHECK(ok.status == 200);
  CHECK(ok.js()["result"] == json{{"a", 2}, {"b", 1}});
  auto bad = h.post("/jobs?cp=wc-sjs&mainClass=wordcount_sjs.WordCountSparkJob&context=pyctx&sync=true", "x = 1");
  INFO(bad.body);
  CHECK(bad.status == 400);
  CHECK(bad.js()["status"] == "VALIDATION FAILED");
  CHECK(contains(bad.body, "input.strings not found"));

  // runtime.contextConfig is the context's settings; runtime.jobId the job's id.
  auto src = h.post("/binaries/ctxconf",
                    "from sparkjobserver.api import SparkJob\n"
                    "class Show(SparkJob):\n"
                    "    def validate(self, context, runtime, config):\n        return None\n"
                    "    def run_job(self, context, runtime, data):\n"
                    "        return [runtime.contextConfig.get('spark.executor.cores'), runtime.jobId, context is None]\n",
                    {"Content-Type: text/x-python"});
  REQUIRE(src.status == 201);
  REQUIRE(h.post("/contexts/conf2?context-factory=spark.jobserver.python.PythonSparkContextFactory&spark.executor.cores=3")
              .status == 200);
  auto shown = h.post("/jobs?appName=ctxconf&classPath=ctxconf.Show&context=conf2&sync=true", "");
  INFO(shown.body);
  REQUIRE(shown.status == 200);
  CHECK(shown.js()["result"][0] == 3);
  CHECK(shown.js()["result"][1] == shown.js()["jobId"]);
  CHECK(shown.js()["result"][2] == true);  // no Spark here: context is None
}

TEST_CASE("over HTTP: POST /pipelines runs a pipeline, POST /jobs/submit and GET /jobs/status/<id> answer as the "
          "pipeline server sjs replaces, on pipelines.default-library",
          "[python][http][steps]") {
  HttpSandbox h("pipelines.default-library = \"steps\"\n");
  auto up = h.post("/binaries/steps", read_all(example("steps.py")), {"Content-Type: text/x-python"});
  INFO(up.body);
  REQUIRE(up.status == 201);
  auto run = h.post("/pipelines?sync=true",
                    R"({"library": "steps", "options": {"input": {"string": "q q r"}}, "steps": [["load_text"], ["words"], ["count_by_value"]]})");
  INFO(run.body);
  CHECK(run.status == 200);
  CHECK(run.js()["result"] == json{{"q", 2}, {"r", 1}});
  auto invalid = h.post("/pipelines?sync=true", R"({"library": "steps", "steps": [["nope"]]})");
  CHECK(invalid.status == 400);
  CHECK(invalid.js()["status"] == "VALIDATION FAILED");

  auto sub = h.post("/jobs/submit", R"({"options": {"input.string": "z z"}, "steps": [["load_text"], ["words"], ["count_by_value"]]})",
                    {"Content-Type: application/json"});
  INFO(sub.body);
  REQUIRE(sub.status == 200);
  const std::string id = sub.js()["job_id"];
  REQUIRE(eventually([&] { return h.get("/jobs/status/" + id).js()["status"] == "FINISHED"; }, k_slow));
  CHECK(h.get("/jobs/" + id).js()["result"] == json{{"z", 2}});
  auto unknown = h.get("/jobs/status/nosuchjob");
  CHECK(unknown.status == 404);
  CHECK(unknown.js()["status"] == "NOT_FOUND");
  CHECK(h.post("/jobs/submit", R"({"steps": 5})").status == 400);
}

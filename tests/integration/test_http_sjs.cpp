// spark-jobserver's REST API over real HTTP: a real sjsd with HTTP on (port 0, read back from
// <data dir>/sjsd.url), driven by curl, by raw sockets for malformed requests, and by a python3
// script that replays python-sjsclient's calls (http_sjsclient_replay.py). The contract is
// ../shared/reference/spark-jobserver-api.md; docs/http-api.md documents it.
#include <arpa/inet.h>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <optional>
#include <regex>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "harness.hpp"
#include "http_sandbox.hpp"

extern char** environ;

using namespace sjs::test;
using nlohmann::json;

namespace {



std::string url_encode(const std::string& s) {
  std::string out;
  char buf[4];
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// ---- raw sockets, for requests curl will not send ---------------------------------

json raw_json(const std::string& response) {
  auto at = response.find("\r\n\r\n");
  return at == std::string::npos ? json() : json::parse(response.substr(at + 4), nullptr, false);
}

// A background process in a process group of its own, output to /dev/null (it must not hold the
// test runner's pipes); the whole group is killed when this goes out of scope.
class Background {
 public:
  explicit Background(const std::vector<std::string>& argv) {
    std::vector<char*> av;
    for (auto& a : const_cast<std::vector<std::string>&>(argv)) av.push_back(a.data());
    av.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    const int rc = ::posix_spawnp(&m_pid, av[0], &fa, &attr, av.data(), environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    REQUIRE(rc == 0);
  }
  ~Background() {
    ::kill(-m_pid, SIGKILL);
    ::waitpid(m_pid, nullptr, 0);
  }

 private:
  pid_t m_pid = -1;
};

std::string base64(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], k[v & 63]};
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += {k[v >> 18], k[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return out;
}

bool is_error_shape(const HttpReply& r) {
  auto j = json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("status") && j["status"].is_string();
}

}  // namespace

TEST_CASE("http binaries: POST by Content-Type with the zip check (201/415/400), GET as an object and one by name, "
          "sjs's own types, legacy /jars, DELETE refused with 403 while a job uses the binary",
          "[http]") {
  HttpSandbox h;
  REQUIRE(h.get("/binaries").js() == json::object());

  h.upload_examples("ex");
  auto list = h.get("/binaries");
  REQUIRE(list.status == 200);
  json b = list.js();
  REQUIRE(b.is_object());
  REQUIRE(b["ex"]["binary-type"] == "Jar");
  REQUIRE(std::regex_match(b["ex"]["upload-time"].get<std::string>(),
                           std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
  auto one = h.get("/binaries/ex");
  REQUIRE(one.status == 200);
  REQUIRE(one.js()["app-name"] == "ex");
  REQUIRE(one.js()["binary-type"] == "Jar");
  REQUIRE(one.js()["upload-time"] == b["ex"]["upload-time"]);
  auto missing = h.get("/binaries/nope");
  REQUIRE(missing.status == 404);
  REQUIRE(missing.js() == json{{"status", "ERROR"}, {"result", "Can't find binary with name nope"}});

  // A re-upload adds a version: GET shows the newest.
  h.upload_examples("ex");
  REQUIRE(h.get("/binaries/ex").js()["version"] == 2);

  // Type by Content-Type: unknown or missing is 415, a non-zip archive 400.
  auto plain = h.post("/binaries/t", "hello", {"Content-Type: text/plain"});
  REQUIRE(plain.status == 415);
  REQUIRE(plain.js() == json{{"status", "ERROR"}, {"result", "Unsupported binary type text/plain"}});
  auto none = h.post("/binaries/t", "hello", {"Content-Type:"});
  REQUIRE(none.status == 415);
  REQUIRE(none.js()["result"].get<std::string>().rfind("Unsupported binary type", 0) == 0);
  for (const char* ct : {"application/java-archive", "application/python-egg", "application/python-wheel"}) {
    auto bad = h.post("/binaries/t", "not a zip", {std::string("Content-Type: ") + ct});
    INFO(ct);
    REQUIRE(bad.status == 400);
    REQUIRE(bad.js() == json{{"status", "ERROR"}, {"result", "Binary is not of the right format"}});
  }
  REQUIRE(h.get("/binaries/t").status == 404);
  // python-sjsclient's legacy type for eggs; any zip passes the check.
  REQUIRE(h.post("/binaries/egg", read_all(examples_jar()), {"Content-Type: application/python-archive"}).status == 201);
  REQUIRE(h.get("/binaries/egg").js()["binary-type"] == "Egg");  // spark-jobserver's label for eggs
  REQUIRE(h.post("/binaries/whl", read_all(examples_jar()), {"Content-Type: application/python-wheel"}).status == 201);
  REQUIRE(h.get("/binaries/whl").js()["binary-type"] == "Wheel");
  // sjs's own types: executables, Python sources, shared objects (an ELF check refuses a script).
  h.upload_script("tool", "echo '\"done\"'");
  REQUIRE(h.get("/binaries/tool").js()["binary-type"] == "Executable");
  REQUIRE(h.post("/binaries/pysrc", "print('hi')\n", {"Content-Type: text/x-python"}).status == 201);
  REQUIRE(h.get("/binaries/pysrc").js()["binary-type"] == "Python");
  auto so = h.post("/binaries/lib", "#!/bin/sh\n", {"Content-Type: application/x-sharedlib"});
  REQUIRE(so.status == 400);
  REQUIRE(so.js()["result"].get<std::string>().find("shared object") != std::string::npos);

  // Legacy /jars: jars only, name -> time; POST needs no Content-Type.
  auto jars = h.get("/jars");
  REQUIRE(jars.status == 200);
  REQUIRE(jars.js().size() == 1);
  REQUIRE(jars.js()["ex"] == h.get("/binaries").js()["ex"]["upload-time"]);
  auto jar = h.post("/jars/old", read_all(examples_jar()), {"Content-Type:"});
  REQUIRE(jar.status == 200);
  REQUIRE(jar.js() == json{{"status", "SUCCESS"}, {"result", "Jar uploaded"}});
  auto badjar = h.post("/jars/old2", "nope", {"Content-Type:"});
  REQUIRE(badjar.status == 400);
  REQUIRE(badjar.js() == json{{"status", "ERROR"}, {"result", "Jar is not of the right format"}});
  REQUIRE(h.get("/jars").js().contains("old"));
  REQUIRE_FALSE(h.get("/jars").js().contains("tool"));

  // The blob store cannot be written (its directory replaced by a file): 500 "Storage Failure".
  const std::string blobs = h.sb().home() + "/blobs";
  std::filesystem::rename(blobs, blobs + ".away");
  h.sb().write_file("home/blobs", "not a directory");
  auto storage = h.post("/binaries/nostore", read_all(examples_jar()), {"Content-Type: application/java-archive"});
  std::filesystem::remove(blobs);
  std::filesystem::rename(blobs + ".away", blobs);
  REQUIRE(storage.status == 500);
  REQUIRE(storage.js()["status"] == "Storage Failure");
  REQUIRE(storage.js()["result"]["message"].get<std::string>().find("cannot write") != std::string::npos);
  REQUIRE(h.get("/binaries/nostore").status == 404);

  // DELETE while a job runs it: 403 naming the job; then 200, then 404.
  const std::string gate = h.sb().dir() + "/gate";
  h.upload_script("gated", wait_for_file(gate) + "\necho '\"ok\"'");
  auto sub = h.post("/jobs?appName=gated&classPath=gated");
  REQUIRE(sub.status == 202);
  const std::string id = sub.js()["jobId"];
  auto in_use = h.del("/binaries/gated");
  REQUIRE(in_use.status == 403);
  REQUIRE(in_use.js() == json{{"status", "ERROR"}, {"result", "Binary is in use by job(s): " + id}});
  touch(gate);
  REQUIRE(h.wait_status(id, "FINISHED"));
  auto deleted = h.del("/binaries/gated");
  REQUIRE(deleted.status == 200);
  REQUIRE(deleted.js() == json{{"status", "SUCCESS"}});
  auto again = h.del("/binaries/gated");
  REQUIRE(again.status == 404);
  REQUIRE(again.js()["status"] == "ERROR");
}

TEST_CASE("http contexts: POST with query params under a HOCON body's spark.context-settings, GET list and one, "
          "exists/bad name 400, start failure 500 CONTEXT INIT ERROR, DELETE 200/404, PUT reset=reboot restarts them",
          "[http]") {
  HttpSandbox h;
  auto created = h.post("/contexts/c1?num-cpu-cores=2&memory-per-node=512m&spark.executor.cores=3",
                        "spark.context-settings {\n  num-cpu-cores = 4\n}\n");
  INFO(created.body);
  REQUIRE(created.status == 200);
  REQUIRE(created.js() == json{{"status", "SUCCESS"}, {"result", "Context initialized"}});
  // The daemon has no Spark home: a jvm context; the body beat the query for num-cpu-cores.
  auto shown = h.sb().sjs_json({"context", "show", "c1"});
  REQUIRE(shown.exit_code == 0);
  json info = shown.json();
  REQUIRE(info["runtime"] == "jvm");
  REQUIRE(info["settings"]["num-cpu-cores"] == 4);
  REQUIRE(info["settings"]["memory-per-node"] == "512m");
  REQUIRE(info["settings"]["spark"]["executor"]["cores"] == 3);

  REQUIRE(h.post("/contexts/e1?runtime=exec&max-jobs-per-context=3").status == 200);
  json e1 = h.sb().sjs_json({"context", "show", "e1"}).json();
  REQUIRE(e1["runtime"] == "exec");
  REQUIRE(e1["max_jobs"] == 3);

  auto names = h.get("/contexts");
  REQUIRE(names.status == 200);
  REQUIRE(names.js() == json::array({"c1", "e1"}));
  auto one = h.get("/contexts/c1");
  REQUIRE(one.status == 200);
  json c1 = one.js();
  REQUIRE(c1["name"] == "c1");
  REQUIRE(c1["state"] == "RUNNING");
  REQUIRE(c1["endTime"] == "Empty");
  REQUIRE(c1["id"] == info["id"]);
  REQUIRE(std::regex_match(c1["startTime"].get<std::string>(), std::regex(R"(\d{4}-.*T.*\.\d{3}Z)")));
  auto nope = h.get("/contexts/nope");
  REQUIRE(nope.status == 404);
  REQUIRE(nope.js() == json{{"status", "ERROR"}, {"result", "can't find context with name nope"}});

  auto dup = h.post("/contexts/c1");
  REQUIRE(dup.status == 400);
  REQUIRE(dup.js() == json{{"status", "ERROR"}, {"result", "context c1 exists"}});
  auto digit = h.post("/contexts/1abc");
  REQUIRE(digit.status == 400);
  REQUIRE(digit.js() == json{{"status", "ERROR"}, {"result", "context name must start with letters"}});
  auto bad_body = h.post("/contexts/c2", "spark.context-settings {");
  REQUIRE(bad_body.status == 400);
  REQUIRE(bad_body.js()["result"].get<std::string>().rfind("Cannot parse config: ", 0) == 0);

  // A context whose worker cannot start: 500 E2.
  auto failed = h.post("/contexts/broken?runtime=spark&spark-home=/nonexistent-spark");
  REQUIRE(failed.status == 500);
  REQUIRE(failed.js()["status"] == "CONTEXT INIT ERROR");
  REQUIRE(failed.js()["result"]["message"].get<std::string>().find("spark-submit") != std::string::npos);
  REQUIRE(failed.js()["result"].contains("errorClass"));
  REQUIRE(failed.js()["result"]["stack"].is_array());
  auto broken = h.get("/contexts/broken");  // a final context is still answered
  REQUIRE(broken.status == 200);
  REQUIRE(broken.js()["state"] == "ERROR");

  // PUT /contexts?reset=reboot: every named context restarts (a new id) and is RUNNING again.
  auto reset = h.request("PUT", "/contexts?reset=reboot");
  REQUIRE(reset.status == 200);
  REQUIRE(reset.js() == json{{"status", "SUCCESS"}, {"result", "Context reset"}});
  json after = h.get("/contexts/c1").js();
  REQUIRE(after["state"] == "RUNNING");
  REQUIRE(after["id"] != c1["id"]);
  REQUIRE(h.get("/contexts").js() == json::array({"c1", "e1"}));
  REQUIRE(h.request("PUT", "/contexts?reset=bogus").status == 400);

  auto stopped = h.del("/contexts/c1");
  REQUIRE(stopped.status == 200);
  REQUIRE(stopped.js() == json{{"status", "SUCCESS"}, {"result", "Context stopped"}});
  auto gone = h.del("/contexts/c1");
  REQUIRE(gone.status == 404);
  REQUIRE(gone.js() == json{{"status", "ERROR"}, {"result", "context c1 not found"}});
  REQUIRE(h.get("/contexts").js() == json::array({"e1"}));
  // A stopped context is still answered, as FINISHED with its end time (as spark-jobserver does);
  // the CLI, like DELETE, no longer finds it, and the name can be used again.
  json finished = h.get("/contexts/c1").js();
  REQUIRE(finished["state"] == "FINISHED");
  REQUIRE(finished["id"] == after["id"]);
  REQUIRE(finished["endTime"] != "Empty");
  REQUIRE(h.sb().sjs({"context", "show", "c1"}).exit_code == 7);
  REQUIRE(h.post("/contexts/c1?runtime=exec").status == 200);
  REQUIRE(h.get("/contexts/c1").js()["state"] == "RUNNING");
}

TEST_CASE("http contexts: DELETE kills the running jobs, a second DELETE while the stop is under way is 202 with "
          "Location, and a job submitted to the stopping context is 409",
          "[http]") {
  HttpSandbox h;
  // A job that ignores SIGTERM: the stop takes kill.grace-seconds (1 s) to SIGKILL it.
  const std::string started = h.sb().dir() + "/started";
  h.upload_script("stubborn", "trap '' TERM\ntouch '" + started + "'\nwhile true; do sleep 0.05; done");
  REQUIRE(h.post("/contexts/slow?runtime=exec").status == 200);
  auto sub = h.post("/jobs?appName=stubborn&classPath=stubborn&context=slow");
  REQUIRE(sub.status == 202);
  const std::string id = sub.js()["jobId"];
  REQUIRE(eventually([&] { return std::filesystem::exists(started); }));

  HttpReply first;
  std::thread stopper([&] { first = h.del("/contexts/slow"); });
  REQUIRE(eventually([&] { return h.get("/contexts/slow").js().value("state", "") == "STOPPING"; }, 10));
  auto second = h.del("/contexts/slow");
  auto refused = h.post("/jobs?appName=stubborn&classPath=stubborn&context=slow");
  stopper.join();
  REQUIRE(second.status == 202);
  REQUIRE(second.headers["location"] == "/contexts/slow");
  REQUIRE(refused.status == 409);
  REQUIRE(refused.js() == json{{"status", "ERROR"}, {"result", "Context stop in progress"}});
  REQUIRE(first.status == 200);
  REQUIRE(first.js()["result"] == "Context stopped");
  json job = h.get("/jobs/" + id).js();
  REQUIRE(job["status"] == "KILLED");
  REQUIRE(job["result"].contains("message"));
}

TEST_CASE("http jobs: sync and async submission with HOCON, JSON and form-encoded configs, cp+mainClass, ad-hoc "
          "contexts named <uuid>-<mainClass>, the ERROR shapes, reports, GET /jobs filters, config, DELETE",
          "[http]") {
  HttpSandbox h;
  h.upload_examples("ex");
  REQUIRE(h.post("/contexts/jc?runtime=jvm").status == 200);
  const std::string q = "/jobs?appName=ex&context=jc&classPath=sjs.examples.";

  // Sync: 200 {jobId, result}; the body as HOCON, JSON or form-encoded.
  auto wc = h.post(q + "WordCount&sync=true", "input.string = \"a b a\"\n");
  INFO(wc.body);
  REQUIRE(wc.status == 200);
  REQUIRE(wc.js()["result"] == json{{"a", 2}, {"b", 1}});
  REQUIRE(wc.js().size() == 2);
  auto wc_json = h.post(q + "WordCount&sync=true", R"({"input": {"string": "x y x"}})");
  REQUIRE(wc_json.js()["result"] == json{{"x", 2}, {"y", 1}});
  auto wc_form = h.post(q + "WordCount&sync=true", "input.string=p+q+p&api.password=s3cret");
  REQUIRE(wc_form.js()["result"] == json{{"p", 2}, {"q", 1}});
  const std::string form_id = wc_form.js()["jobId"];

  // cp + mainClass, in the query or in the body.
  auto hi = h.post("/jobs?cp=ex&mainClass=sjs.examples.HelloWorld&context=jc&sync=true");
  REQUIRE(hi.js()["result"] == "Hi!");
  auto hi_body = h.post("/jobs?context=jc&sync=true", "cp = [\"ex\"]\nmainClass = sjs.examples.HelloWorld\n");
  REQUIRE(hi_body.js()["result"] == "Hi!");

  // No context: an ad-hoc one named <uuid>-<mainClass>.
  auto doubled = h.post("/jobs?appName=ex&classPath=sjs.examples.DoubleIt&sync=true");
  REQUIRE(doubled.status == 200);
  REQUIRE(doubled.js()["result"] == json::array({2, 4, 6}));
  json adhoc = h.get("/jobs/" + doubled.js()["jobId"].get<std::string>()).js();
  REQUIRE(std::regex_match(adhoc["context"].get<std::string>(),
                           std::regex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-sjs\\.examples\\.DoubleIt")));
  // Its context ended with the job, and is still answered: FINISHED, with an end time.
  REQUIRE(eventually([&] {
    auto ctx = h.get("/contexts/" + adhoc["context"].get<std::string>());
    return ctx.status == 200 && ctx.js()["state"] == "FINISHED" && ctx.js()["endTime"] != "Empty";
  }));

  // Sync failures: validation 400 E2, class not found 404, a job that throws 200 ERROR shape.
  auto invalid = h.post(q + "WordCount&sync=true");
  REQUIRE(invalid.status == 400);
  REQUIRE(invalid.js()["status"] == "VALIDATION FAILED");
  REQUIRE(invalid.js()["result"]["message"].get<std::string>().find("input.string") != std::string::npos);
  auto no_class = h.post(q + "Nope&sync=true");
  REQUIRE(no_class.status == 404);
  REQUIRE(no_class.js() == json{{"status", "ERROR"}, {"result", "classPath sjs.examples.Nope not found"}});
  auto boom = h.post(q + "Fail&sync=true");
  REQUIRE(boom.status == 200);
  REQUIRE(boom.js()["status"] == "ERROR");
  REQUIRE(boom.js()["result"]["message"] == "boom");
  REQUIRE(boom.js()["result"]["errorClass"] == "java.lang.IllegalStateException");
  REQUIRE_FALSE(boom.js()["result"]["stack"].empty());
  const std::string boom_id = boom.js()["jobId"];

  // Async: 202 report with STARTED; poll until FINISHED; the report.
  auto async = h.post(q + "Sleep", "stress.test.longpijob.duration = 1");
  REQUIRE(async.status == 202);
  json started = async.js();
  REQUIRE(started["status"] == "STARTED");
  REQUIRE(started["classPath"] == "sjs.examples.Sleep");
  REQUIRE(started["context"] == "jc");
  REQUIRE(started["duration"] == "Job not done yet");
  const std::string sleep_id = started["jobId"];
  REQUIRE(h.wait_status(sleep_id, "FINISHED"));
  json report = h.get("/jobs/" + sleep_id).js();
  REQUIRE(report["result"] == "slept 1 s");
  REQUIRE(report["duration"].get<std::string>().find("1.") == 0);
  REQUIRE(std::regex_match(report["duration"].get<std::string>(), std::regex(R"(\d+\.\d{1,3} secs)")));
  REQUIRE(std::regex_match(report["startTime"].get<std::string>(),
                           std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d)")));
  REQUIRE(report["contextId"] == h.get("/contexts/jc").js()["id"]);

  // A sync wait that expires answers 202 with the running job, which goes on.
  auto waited = h.post(q + "Sleep&sync=true&timeout=0.3", "stress.test.longpijob.duration = 1.5");
  REQUIRE(waited.status == 202);
  REQUIRE(waited.js()["status"] == "RUNNING");
  const std::string waited_id = waited.js()["jobId"];
  REQUIRE(h.wait_status(waited_id, "FINISHED"));

  // GET /jobs: newest first, limit, status case-insensitive.
  auto latest = h.get("/jobs?limit=2").js();
  REQUIRE(latest.size() == 2);
  REQUIRE(latest[0]["jobId"] == waited_id);
  REQUIRE(latest[1]["jobId"] == sleep_id);
  auto errors = h.get("/jobs?status=error").js();
  REQUIRE_FALSE(errors.empty());
  bool has_boom = false;
  for (const auto& j : errors) {
    REQUIRE(j["status"] == "ERROR");
    has_boom = has_boom || j["jobId"] == boom_id;
  }
  REQUIRE(has_boom);
  for (const auto& j : h.get("/jobs?status=FINISHED").js()) REQUIRE(j["status"] == "FINISHED");
  REQUIRE(h.get("/jobs?status=bogus").status == 400);
  REQUIRE(h.get("/jobs?limit=x").status == 400);

  // GET /jobs/<id>/config: the posted config, secrets redacted.
  json conf = h.get("/jobs/" + form_id + "/config").js();
  REQUIRE(conf["input"]["string"] == "p q p");
  REQUIRE(conf["api"]["password"] == "********");
  REQUIRE(h.get("/jobs/nope/config").status == 404);
  auto unknown = h.get("/jobs/nope");
  REQUIRE(unknown.status == 404);
  REQUIRE(unknown.js() == json{{"status", "ERROR"}, {"result", "No such job ID nope"}});

  // DELETE: running 200 KILLED, ERROR job 200 ERROR shape, finished 404, unknown 404.
  auto long_job = h.post(q + "Sleep", "sleep.seconds = 30");
  const std::string long_id = long_job.js()["jobId"];
  REQUIRE(h.wait_status(long_id, "RUNNING"));
  auto killed = h.del("/jobs/" + long_id);
  REQUIRE(killed.status == 200);
  REQUIRE(killed.js() == json{{"status", "KILLED"}});
  REQUIRE(h.get("/jobs/" + long_id).js()["status"] == "KILLED");
  auto err_del = h.del("/jobs/" + boom_id);
  REQUIRE(err_del.status == 200);
  REQUIRE(err_del.js()["status"] == "ERROR");
  REQUIRE(err_del.js()["ERROR"]["message"] == "boom");
  auto fin_del = h.del("/jobs/" + sleep_id);
  REQUIRE(fin_del.status == 404);
  REQUIRE(fin_del.js() == json{{"status", "ERROR"}, {"result", "No running job with ID " + sleep_id}});
  auto killed_del = h.del("/jobs/" + long_id);
  REQUIRE(killed_del.status == 404);
  auto unknown_del = h.del("/jobs/nope");
  REQUIRE(unknown_del.status == 404);
  REQUIRE(unknown_del.js() == json{{"status", "ERROR"}, {"result", "No such job ID nope"}});
}

TEST_CASE("http jobs: submission errors answer the reference's status and message (parse 400, classPath missing 400, "
          "appName/context 404, wrong job type 400, queue bound 503 NO SLOTS AVAILABLE, QUEUED shows as RUNNING)",
          "[http]") {
  HttpSandbox h;
  const std::string gate = h.sb().dir() + "/gate";
  h.upload_script("gated", wait_for_file(gate) + "\necho '\"ok\"'");
  h.upload_examples("ex");

  auto hocon = h.post("/jobs?appName=gated&classPath=x", "a = {");
  REQUIRE(hocon.status == 400);
  REQUIRE(hocon.js()["status"] == "ERROR");
  REQUIRE(hocon.js()["result"].get<std::string>().rfind("Cannot parse config: ", 0) == 0);
  auto bad_json = h.post("/jobs?appName=gated&classPath=x", R"({"a": [1,}")");
  REQUIRE(bad_json.status == 400);
  REQUIRE(bad_json.js()["result"].get<std::string>().rfind("Cannot parse config: ", 0) == 0);
  auto bad_form = h.post("/jobs?appName=gated&classPath=x", "a=%zz&b=1");
  REQUIRE(bad_form.status == 400);
  REQUIRE(bad_form.js()["result"].get<std::string>().rfind("Cannot parse config: ", 0) == 0);
  auto no_class = h.post("/jobs?appName=gated");
  REQUIRE(no_class.status == 400);
  REQUIRE(no_class.js() == json{{"status", "ERROR"}, {"result", "Cannot parse config: classPath parameter is missing!"}});
  auto no_main = h.post("/jobs?cp=gated");
  REQUIRE(no_main.status == 400);
  REQUIRE(no_main.js()["result"] == "Cannot parse config: mainClass parameter is missing!");
  REQUIRE(h.post("/jobs").status == 400);
  auto no_app = h.post("/jobs?appName=nope&classPath=x");
  REQUIRE(no_app.status == 404);
  REQUIRE(no_app.js() == json{{"status", "ERROR"}, {"result", "appName nope not found"}});
  auto no_ctx = h.post("/jobs?appName=gated&classPath=x&context=nope");
  REQUIRE(no_ctx.status == 404);
  REQUIRE(no_ctx.js() == json{{"status", "ERROR"}, {"result", "context nope not found"}});
  REQUIRE(h.post("/jobs?appName=gated&classPath=x&sync=maybe").status == 400);
  REQUIRE(h.post("/jobs?appName=gated&classPath=x&callbackUrl=ftp://host/x").status == 400);

  // One slot and a queue bound of 1: the first job runs, the second queues, the third is refused.
  REQUIRE(h.post("/contexts/q1?runtime=exec&max-jobs-per-context=1&max-queue=1").status == 200);
  auto wrong_type = h.post("/jobs?appName=ex&classPath=sjs.examples.HelloWorld&context=q1");
  REQUIRE(wrong_type.status == 400);
  REQUIRE(wrong_type.js() == json{{"status", "ERROR"}, {"result", "Invalid job type for this context"}});
  const std::string a = h.post("/jobs?appName=gated&classPath=g&context=q1").js()["jobId"];
  REQUIRE(h.wait_status(a, "RUNNING"));
  auto b = h.post("/jobs?appName=gated&classPath=g&context=q1");
  REQUIRE(b.status == 202);
  const std::string b_id = b.js()["jobId"];
  auto full = h.post("/jobs?appName=gated&classPath=g&context=q1");
  REQUIRE(full.status == 503);
  REQUIRE(full.js()["status"] == "NO SLOTS AVAILABLE");
  REQUIRE(full.js()["result"].is_string());
  // The queued job shows as RUNNING (not started: no duration), with sjs's state beside it.
  json queued = h.get("/jobs/" + b_id).js();
  REQUIRE(queued["status"] == "RUNNING");
  REQUIRE(queued["sjsState"] == "QUEUED");
  REQUIRE(queued["duration"] == "Job not done yet");
  json running = h.get("/jobs?status=running").js();
  REQUIRE(running.size() == 2);
  REQUIRE(running[0]["jobId"] == b_id);
  REQUIRE(running[1]["jobId"] == a);
  REQUIRE(h.get("/jobs?status=QUEUED").js().size() == 1);
  // A queued job is killed at once.
  auto killed = h.del("/jobs/" + b_id);
  REQUIRE(killed.status == 200);
  REQUIRE(killed.js() == json{{"status", "KILLED"}});
  touch(gate);
  REQUIRE(h.wait_status(a, "FINISHED"));
}

TEST_CASE("http jobs: an ad-hoc job's body carries spark.context-settings{} for its context", "[http]") {
  HttpSandbox h;
  h.upload_script("greet", "printf '\"%s\"' \"$GREETING\"");
  auto r = h.post("/jobs?appName=greet&classPath=greet&sync=true",
                  "spark.context-settings { env { GREETING = hello-from-settings } }\n");
  INFO(r.body);
  REQUIRE(r.status == 200);
  REQUIRE(r.js()["result"] == "hello-from-settings");
}

// A callback receiver (python3's http.server): appends each POST as a JSON line
// {path, attempt, type, body} to argv[1], writes its port to argv[2] once it listens (on
// argv[3], default any), and answers 500 to the first two POSTs on /retry, 200 to the rest.
std::string write_callback_receiver(const Sandbox& sb) {
  return sb.write_file("receiver.py", R"PY(
import http.server, json, os, sys
log, port_file = sys.argv[1], sys.argv[2]
port = int(sys.argv[3]) if len(sys.argv) > 3 else 0
seen = {}
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        path = self.path.split('?')[0]
        seen[path] = seen.get(path, 0) + 1
        with open(log, 'a') as f:
            f.write(json.dumps({'path': self.path, 'attempt': seen[path], 'type': self.headers.get('Content-Type'),
                                'body': json.loads(body)}) + '\n')
        self.send_response(500 if path == '/retry' and seen[path] <= 2 else 200)
        self.send_header('Content-Length', '0')
        self.end_headers()
    def log_message(self, *args):
        pass
srv = http.server.HTTPServer(('127.0.0.1', port), H)
with open(port_file + '.tmp', 'w') as f:
    f.write(str(srv.server_address[1]))
os.rename(port_file + '.tmp', port_file)
srv.serve_forever()
)PY");
}

// The JSON lines a callback receiver logged.
std::vector<json> callback_records(const std::string& log) {
  std::vector<json> out;
  std::istringstream in(read_all(log));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

TEST_CASE("http callbacks: callbackUrl gets {jobId,result} when a job finishes and the ERROR shape when it fails, "
          "tried again after failed attempts",
          "[http]") {
  HttpSandbox h;
  const std::string log = h.sb().dir() + "/callbacks.jsonl";
  const std::string port_file = h.sb().dir() + "/callback.port";
  const std::string server = write_callback_receiver(h.sb());
  Background receiver({"python3", server, log, port_file});
  REQUIRE(eventually([&] { return std::filesystem::exists(port_file); }, 20));
  const std::string base = "http://127.0.0.1:" + trim(read_all(port_file));

  h.upload_script("good", "echo '{\"x\": 1}'");
  h.upload_script("bad", "echo 'it broke' >&2\nexit 3");
  auto ok = h.post("/jobs?appName=good&classPath=good&callbackUrl=" + url_encode(base + "/retry?tag=1"));
  REQUIRE(ok.status == 202);
  const std::string ok_id = ok.js()["jobId"];
  auto bad = h.post("/jobs?appName=bad&classPath=bad&sync=true&callbackUrl=" + url_encode(base + "/failed"));
  REQUIRE(bad.status == 200);
  REQUIRE(bad.js()["status"] == "ERROR");
  const std::string bad_id = bad.js()["jobId"];

  auto records = [&] { return callback_records(log); };
  // Attempts 1 and 2 on /retry fail (500); the third, after 0.5 s and 1 s of backoff, succeeds.
  REQUIRE(eventually([&] { return records().size() >= 4; }, 20));
  auto got = records();
  std::vector<json> retry, failed;
  for (const auto& r : got) (r["path"].get<std::string>().rfind("/retry", 0) == 0 ? retry : failed).push_back(r);
  REQUIRE(retry.size() == 3);
  for (const auto& r : retry) {
    REQUIRE(r["path"] == "/retry?tag=1");
    REQUIRE(r["type"] == "application/json");
    REQUIRE(r["body"] == json{{"jobId", ok_id}, {"result", {{"x", 1}}}});
  }
  REQUIRE(failed.size() == 1);
  json fb = failed[0]["body"];
  REQUIRE(fb["jobId"] == bad_id);
  REQUIRE(fb["status"] == "ERROR");
  REQUIRE(fb["result"].contains("message"));
  REQUIRE(fb["result"].contains("errorClass"));
  REQUIRE(fb["result"]["stack"].is_array());
}

TEST_CASE("http callbacks are durable: one owed when the daemon is killed is sent by the next daemon, once",
          "[http]") {
  HttpSandbox h;
  const int port = free_tcp_port();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  h.upload_script("good", "echo '{\"x\": 2}'");
  // Nothing listens on the port yet: every attempt fails.
  auto sub = h.post("/jobs?appName=good&classPath=good&callbackUrl=" + url_encode(base + "/late"));
  REQUIRE(sub.status == 202);
  const std::string id = sub.js()["jobId"];
  REQUIRE(h.wait_status(id, "FINISHED"));
  const std::string daemon_log = h.sb().home() + "/sjsd.log";
  REQUIRE(eventually([&] { return read_all(daemon_log).find("attempt 1 failed") != std::string::npos; }, 20));
  h.sb().kill_daemon();  // well within the attempts' 7.5 s of backoff

  const std::string log = h.sb().dir() + "/callbacks.jsonl";
  const std::string port_file = h.sb().dir() + "/callback.port";
  Background receiver({"python3", write_callback_receiver(h.sb()), log, port_file, std::to_string(port)});
  REQUIRE(eventually([&] { return std::filesystem::exists(port_file); }, 20));
  h.sb().start_daemon();
  REQUIRE(eventually([&] { return !callback_records(log).empty(); }, 20));
  auto got = callback_records(log);
  REQUIRE(got.size() == 1);
  REQUIRE(got[0]["path"] == "/late");
  REQUIRE(got[0]["body"] == json{{"jobId", id}, {"result", {{"x", 2}}}});
  // Delivered: once that is recorded (a stop flushes the store), the next daemon owes nothing.
  // (Killed between the delivery and that record, a daemon would send it again: at least once.)
  REQUIRE(eventually([&] { return read_all(daemon_log).find("delivered") != std::string::npos; }, 20));
  REQUIRE(h.sb().sjs({"daemon", "stop"}).exit_code == 0);
  h.sb().start_daemon();
  REQUIRE(h.sb().sjs({"daemon", "status"}).exit_code == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(callback_records(log).size() == 1);
  CHECK(read_all(daemon_log).find("owed from before the restart") != std::string::npos);
}

TEST_CASE("http data files: POST /data/<prefix> stores <data dir>/files/<prefix>-<time>.dat, GET lists absolute "
          "paths, DELETE removes only files sjsd stores",
          "[http]") {
  HttpSandbox h;
  REQUIRE(h.get("/data").js() == json::array());
  auto up = h.post("/data/input", "one\ntwo\n");
  REQUIRE(up.status == 200);
  const std::string path = up.js()["result"]["filename"];
  REQUIRE(path.rfind(h.sb().home() + "/files/input-", 0) == 0);
  REQUIRE(path.size() > 4);
  REQUIRE(path.substr(path.size() - 4) == ".dat");
  REQUIRE(read_all(path) == "one\ntwo\n");
  const std::string path2 = h.post("/data/input", "three").js()["result"]["filename"];
  REQUIRE(path2 != path);
  auto list = h.get("/data").js();
  REQUIRE(list.size() == 2);
  REQUIRE(std::find(list.begin(), list.end(), json(path)) != list.end());

  // Only files sjsd stores: not one elsewhere, even with a .dat name.
  const std::string outside = h.sb().write_file("outside.dat", "keep me");
  auto refused = h.del("/data/" + url_encode(outside));
  REQUIRE(refused.status == 400);
  REQUIRE(refused.js()["status"] == "ERROR");
  REQUIRE(read_all(outside) == "keep me");
  REQUIRE(h.del("/data/" + url_encode(h.sb().home() + "/files/../sjsd.conf")).status == 400);
  REQUIRE(std::filesystem::exists(h.sb().home() + "/sjsd.conf"));

  auto deleted = h.del("/data/" + url_encode(path));
  REQUIRE(deleted.status == 200);
  REQUIRE_FALSE(std::filesystem::exists(path));
  auto again = h.del("/data/" + url_encode(path));
  REQUIRE(again.status == 400);
  REQUIRE(again.js() == json{{"status", "ERROR"}, {"result", "Unable to delete data file '" + path + "'."}});
  REQUIRE(h.post("/data/bad%20name", "x").status == 400);

  auto reset = h.request("PUT", "/data?reset=reboot");
  REQUIRE(reset.status == 200);
  REQUIRE(h.get("/data").js() == json::array());
  REQUIRE_FALSE(std::filesystem::exists(path2));
}

TEST_CASE("http routing: /healthz is 200 SUCCESS, unknown routes 404, wrong methods 405 with Allow, names with "
          "'/', '..' or NUL 400, each a JSON object with status",
          "[http]") {
  HttpSandbox h;
  auto health = h.get("/healthz");
  REQUIRE(health.status == 200);
  REQUIRE(health.js() == json{{"status", "SUCCESS"}});

  for (const char* target : {"/nope", "/binaries/a/b", "/contexts/a/b/c", "/jobs/a/b"}) {
    auto r = h.get(target);
    INFO(target << ": " << r.body);
    REQUIRE(r.status == 404);
    REQUIRE(is_error_shape(r));
  }
  struct MethodCase {
    const char* method;
    const char* target;
    const char* allow;
  };
  for (const auto& m : {MethodCase{"PATCH", "/jobs", "GET, POST"}, MethodCase{"PUT", "/jobs/x", "GET, DELETE"},
                        MethodCase{"POST", "/healthz", "GET"}, MethodCase{"DELETE", "/binaries", "GET"},
                        MethodCase{"PUT", "/contexts/c", "GET, POST, DELETE"}, MethodCase{"POST", "/jobs/x/config", "GET"}}) {
    auto r = h.request(m.method, m.target);
    INFO(m.method << " " << m.target << ": " << r.body);
    REQUIRE(r.status == 405);
    REQUIRE(r.headers["allow"] == m.allow);
    REQUIRE(r.js()["status"] == "ERROR");
  }
  // ?_method= on a POST stands for that method.
  REQUIRE(h.post("/jobs/nope?_method=DELETE").js()["result"] == "No such job ID nope");

  for (const char* target : {"/binaries/a%2Fb", "/contexts/..", "/jobs/../config", "/binaries/%2E%2E", "/data/a%2Fb"}) {
    auto r = h.request(std::string(target).rfind("/data", 0) == 0 ? "POST" : "GET", target);
    INFO(target << ": " << r.body);
    REQUIRE(r.status == 400);
    REQUIRE(is_error_shape(r));
  }
  auto nul = raw_exchange(h.port(), "GET /binaries/a%00b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false);
  REQUIRE(raw_status(nul) == 400);
  REQUIRE(raw_json(nul)["status"] == "ERROR");
  REQUIRE(h.healthy());
}

TEST_CASE("http malformed requests: garbage, a truncated body, oversized headers (431) and an oversized body (413) "
          "each get a 4xx JSON error and the daemon keeps serving",
          "[http]") {
  HttpSandbox h("http.max-body-mb = 1\n");
  auto garbage = raw_exchange(h.port(), "THIS IS NOT HTTP\r\n\r\n", false);
  REQUIRE(raw_status(garbage) == 400);
  REQUIRE(raw_json(garbage)["status"] == "ERROR");
  REQUIRE(h.healthy());

  // Content-Length promises 100 bytes; 10 come, then the client stops sending.
  for (const char* target : {"/jobs?appName=x&classPath=y", "/data/part"}) {
    auto truncated = raw_exchange(
        h.port(), std::string("POST ") + target + " HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789", true);
    INFO(target << ": " << truncated);
    REQUIRE(raw_status(truncated) == 400);
    REQUIRE(raw_json(truncated)["result"].get<std::string>().find("truncated") != std::string::npos);
  }
  REQUIRE(h.get("/data").js() == json::array());  // nothing half-stored
  REQUIRE(h.healthy());

  auto big_header = raw_exchange(
      h.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(100 * 1024, 'a') + "\r\n\r\n", false);
  REQUIRE(raw_status(big_header) == 431);
  REQUIRE(raw_json(big_header)["status"] == "ERROR");
  REQUIRE(h.healthy());

  const std::string two_mb(2u << 20, 'x');
  auto big_job = h.post("/jobs?appName=x&classPath=y", two_mb);
  REQUIRE(big_job.status == 413);
  REQUIRE(big_job.js()["result"].get<std::string>().find("http.max-body-mb") != std::string::npos);
  auto big_upload = h.post("/binaries/big", "PK\x03\x04" + two_mb, {"Content-Type: application/java-archive"});
  REQUIRE(big_upload.status == 413);
  REQUIRE(is_error_shape(big_upload));
  REQUIRE(h.get("/binaries").js() == json::object());
  REQUIRE(h.healthy());
}

TEST_CASE("http python-sjsclient's calls (upload, contexts, sync/async jobs with string and dict configs, polling, "
          "listing, kill, config) all answer as the client expects",
          "[http]") {
  HttpSandbox h;
  REQUIRE(std::filesystem::exists(examples_jar()));
  const std::string script = std::string(k_source) + "/tests/integration/http_sjsclient_replay.py";
  auto r = run_process({"/usr/bin/env", "python3", script, h.url(), examples_jar()}, {}, "", 120);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.out.find("all python-sjsclient calls answered as it expects") != std::string::npos);
}

TEST_CASE("http permissions: with auth on, each spark-jobserver route checks its permission (403 \"Permission denied\" "
          "without it) and /healthz needs no credentials",
          "[http]") {
  HttpSandbox h;
  auto added = h.sb().sjs({"user", "add", "reader", "--permissions", "binaries:read,jobs:read", "--password-stdin"},
                          "secret-pw\n");
  INFO(added.err);
  REQUIRE(added.exit_code == 0);
  const std::string auth = "Authorization: Basic " + base64("reader:secret-pw");
  REQUIRE(eventually([&] { return h.get("/binaries").status == 401; }, 10));  // auth is on once the file is read
  REQUIRE(h.get("/healthz").status == 200);

  REQUIRE(h.request("GET", "/binaries", {}, {auth}).status == 200);
  REQUIRE(h.request("GET", "/jobs", {}, {auth}).status == 200);
  struct Denied {
    const char* method;
    const char* target;
    const char* permission;
  };
  for (const auto& d : {Denied{"POST", "/binaries/x", "binaries:upload"}, Denied{"DELETE", "/binaries/x", "binaries:delete"},
                        Denied{"GET", "/contexts", "contexts:read"}, Denied{"POST", "/contexts/c", "contexts:start"},
                        Denied{"DELETE", "/contexts/c", "contexts:delete"}, Denied{"PUT", "/contexts?reset=reboot", "contexts:reset"},
                        Denied{"POST", "/jobs?appName=x&classPath=y", "jobs:start"}, Denied{"DELETE", "/jobs/x", "jobs:delete"},
                        Denied{"GET", "/data", "data:read"}, Denied{"POST", "/data/x", "data:upload"},
                        Denied{"POST", "/jars/x", "binaries:upload"}}) {
    auto r = h.request(d.method, d.target, std::string(d.method) == "POST" ? std::optional<std::string>("PK") : std::nullopt,
                       {auth, "Content-Type: application/java-archive"});
    INFO(d.method << " " << d.target << ": " << r.body);
    REQUIRE(r.status == 403);
    REQUIRE(r.js()["status"] == "ERROR");
    REQUIRE(r.js()["result"] == std::string("Permission denied: this needs the ") + d.permission + " permission");
  }
  REQUIRE(h.request("GET", "/binaries", {}, {}).status == 401);
}

TEST_CASE("http job log (sjs's extension): GET /jobs/<id>/log gives the job's output from an offset and up to a size, "
          "and with follow=true streams it until the job ends",
          "[http]") {
  HttpSandbox h;
  h.upload_script("talk", "echo one\necho two\necho '\"done\"' > \"$SJS_RESULT\"");
  auto done = h.post("/jobs?appName=talk&classPath=talk&sync=true");
  REQUIRE(done.status == 200);
  REQUIRE(done.js()["result"] == "done");
  const std::string id = done.js()["jobId"];
  auto all = h.get("/jobs/" + id + "/log");
  REQUIRE(all.status == 200);
  REQUIRE(all.body == "one\ntwo\n");
  REQUIRE(all.headers["x-sjs-log-offset"] == "8");
  auto tail = h.get("/jobs/" + id + "/log?from=4");
  REQUIRE(tail.body == "two\n");
  auto head = h.get("/jobs/" + id + "/log?size=3");
  REQUIRE(head.body == "one");
  REQUIRE(head.headers["x-sjs-log-offset"] == "3");
  REQUIRE(h.get("/jobs/nope/log").status == 404);
  REQUIRE(h.get("/jobs/" + id + "/log?from=x").status == 400);

  const std::string gate = h.sb().dir() + "/gate";
  h.upload_script("slow", "echo first\n" + wait_for_file(gate) + "\necho second");
  const std::string slow = h.post("/jobs?appName=slow&classPath=slow").js()["jobId"];
  REQUIRE(eventually([&] { return h.get("/jobs/" + slow + "/log").body == "first\n"; }));
  HttpReply followed;
  std::thread follower([&] { followed = h.get("/jobs/" + slow + "/log?follow=true"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the follow request is under way
  touch(gate);
  follower.join();
  REQUIRE(followed.status == 200);
  REQUIRE(followed.body == "first\nsecond\n");
  REQUIRE(h.get("/jobs/" + slow).js()["status"] == "FINISHED");
}

// The worker protocol's types (common/include/sjs/worker_protocol.hpp,
// docs/worker-protocol.md): every message's exact JSON and its round trip,
// the strict decoding of what a worker sends (each malformed input is
// Error(protocol) naming its problem), the hello's version check, and the
// daemon's side (WorkerRuntime) against a real scripted worker process: a
// mismatched or garbled worker is a failed start, never a crash; a failed
// job of kind "loading" ends with end_reason "loading".
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "runtimes/worker_runtime.hpp"
#include "sjs/errors.hpp"
#include "sjs/messages.hpp"
#include "sjs/worker_protocol.hpp"
#include "unit_helpers.hpp"

using nlohmann::json;
using sjs::Error;
using sjs::ErrorCode;
using sjs::test::error_from;
namespace worker = sjs::worker;

namespace {

// The one protocol error decode() throws for `j`.
Error decode_error(const json& j) {
  return error_from([&] { (void)worker::decode(j); });
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

template <typename T>
T decoded_as(const json& j) {
  auto m = worker::decode(j);
  REQUIRE(std::holds_alternative<T>(m));
  return std::get<T>(m);
}

template <typename T>
T decoded_for_worker_as(const json& j) {
  auto m = worker::decode_for_worker(j);
  REQUIRE(std::holds_alternative<T>(m));
  return std::get<T>(m);
}

json valid_failed() {
  return {{"type", "failed"},
          {"job", "j1"},
          {"kind", "error"},
          {"error", {{"message", "boom"}, {"errorClass", "java.lang.IllegalStateException"}, {"stack", {"at x"}}}}};
}

json valid_hello() {
  return {{"type", "hello"}, {"protocol", worker::k_protocol_version},      {"runtime", "jvm"},
          {"pid", 4242},     {"capabilities", {"named-objects", "cancel"}}, {"version", "17.0.15"}};
}

}  // namespace

// ---------------------------------------------------------------- round trips

TEST_CASE("worker protocol: daemon messages have the documented JSON and decode back", "[worker]") {
  worker::Run run;
  run.job = "0190a1b2-job";
  run.entry = "sjs.examples.WordCount";
  run.binaries = {{"examples", 2, std::string(64, 'e'), "/data/blobs/ee"}, {"dep", 1, std::string(64, 'd'), "/d"}};
  run.config = {{"input", {{"string", "a b a"}}}, {"secret", "s3"}};
  run.context = "ctx";
  const json rj = run;
  CHECK(rj ==
        json{{"type", "run"},
             {"job", "0190a1b2-job"},
             {"entry", "sjs.examples.WordCount"},
             {"binaries",
              {{{"name", "examples"}, {"version", 2}, {"sha256", std::string(64, 'e')}, {"path", "/data/blobs/ee"}},
               {{"name", "dep"}, {"version", 1}, {"sha256", std::string(64, 'd')}, {"path", "/d"}}}},
             {"config", {{"input", {{"string", "a b a"}}}, {"secret", "s3"}}},
             {"context", "ctx"}});
  auto back = decoded_for_worker_as<worker::Run>(rj);
  CHECK(back.job == run.job);
  CHECK(back.entry == run.entry);
  REQUIRE(back.binaries.size() == 2);
  CHECK(back.binaries[0].name == "examples");
  CHECK(back.binaries[0].version == 2);
  CHECK(back.binaries[0].sha256 == std::string(64, 'e'));
  CHECK(back.binaries[0].path == "/data/blobs/ee");
  CHECK(back.binaries[1].name == "dep");
  CHECK(back.config == run.config);
  CHECK(back.context == "ctx");
  CHECK(worker::encode(worker::ToWorker{run}) == rj);

  const json cj = worker::Cancel{"j9"};
  CHECK(cj == json{{"type", "cancel"}, {"job", "j9"}});
  CHECK(decoded_for_worker_as<worker::Cancel>(cj).job == "j9");

  const json oj = worker::ObjectsRequest{7};
  CHECK(oj == json{{"type", "objects"}, {"id", 7}});
  CHECK(decoded_for_worker_as<worker::ObjectsRequest>(oj).id == 7);

  const json sj = worker::Shutdown{};
  CHECK(sj == json{{"type", "shutdown"}});
  CHECK(std::holds_alternative<worker::Shutdown>(worker::decode_for_worker(sj)));
}

TEST_CASE("worker protocol: worker messages have the documented JSON and decode back", "[worker]") {
  SECTION("hello, without and with spark") {
    worker::Hello h;
    h.protocol = worker::k_protocol_version;
    h.runtime = "jvm";
    h.pid = 4242;
    h.capabilities = {worker::k_capability_named_objects, worker::k_capability_cancel};
    h.version = "17.0.15";
    CHECK(json(h) == valid_hello());
    auto back = decoded_as<worker::Hello>(json(h));
    CHECK(back.protocol == 1);
    CHECK(back.runtime == "jvm");
    CHECK(back.pid == 4242);
    CHECK(back.capabilities == std::vector<std::string>{"named-objects", "cancel"});
    CHECK(back.version == "17.0.15");
    CHECK_FALSE(back.spark.has_value());

    h.runtime = "spark";
    h.spark = worker::SparkInfo{"3.5.1", "local[*]", "local-1700000000000"};
    const json sj = h;
    CHECK(sj["spark"] == json{{"version", "3.5.1"}, {"master", "local[*]"}, {"applicationId", "local-1700000000000"}});
    back = decoded_as<worker::Hello>(sj);
    REQUIRE(back.spark.has_value());
    CHECK(back.spark->version == "3.5.1");
    CHECK(back.spark->master == "local[*]");
    CHECK(back.spark->application_id == "local-1700000000000");
  }
  SECTION("started, log, progress") {
    const json st = worker::Started{"j1"};
    CHECK(st == json{{"type", "started"}, {"job", "j1"}});
    CHECK(decoded_as<worker::Started>(st).job == "j1");

    const json lg = worker::Log{"j1", "step 1 of 3"};
    CHECK(lg == json{{"type", "log"}, {"job", "j1"}, {"data", "step 1 of 3"}});
    auto l = decoded_as<worker::Log>(lg);
    CHECK(l.job == "j1");
    CHECK(l.data == "step 1 of 3");

    const json pg = worker::Progress{"j1", 0.5, "half"};
    CHECK(pg == json{{"type", "progress"}, {"job", "j1"}, {"value", 0.5}, {"message", "half"}});
    auto p = decoded_as<worker::Progress>(pg);
    CHECK(p.job == "j1");
    CHECK(p.value == 0.5);
    CHECK(p.message == "half");
    // message is optional; an integer value is a number too
    p = decoded_as<worker::Progress>({{"type", "progress"}, {"job", "j1"}, {"value", 1}});
    CHECK(p.value == 1.0);
    CHECK(p.message.empty());
  }
  SECTION("finished, with any JSON result, null included") {
    for (const json& result : {json(nullptr), json("Hi!"), json({1, 2}), json{{"a", 2}}, json(3.5)}) {
      const json fj = worker::Finished{"j1", result};
      CHECK(fj == json{{"type", "finished"}, {"job", "j1"}, {"result", result}});
      auto f = decoded_as<worker::Finished>(fj);
      CHECK(f.job == "j1");
      CHECK(f.result == result);
    }
  }
  SECTION("failed, every kind") {
    const std::vector<std::pair<worker::FailureKind, std::string>> kinds = {
        {worker::FailureKind::validation, "validation"},
        {worker::FailureKind::loading, "loading"},
        {worker::FailureKind::error, "error"},
        {worker::FailureKind::killed, "killed"}};
    for (const auto& [kind, name] : kinds) {
      worker::Failed f{"j1", kind, sjs::job_error("it failed", "sjs.X")};
      const json fj = f;
      CHECK(fj == json{{"type", "failed"},
                       {"job", "j1"},
                       {"kind", name},
                       {"error", {{"message", "it failed"}, {"errorClass", "sjs.X"}, {"stack", json::array()}}}});
      auto back = decoded_as<worker::Failed>(fj);
      CHECK(back.job == "j1");
      CHECK(back.kind == kind);
      CHECK(back.error == f.error);
      CHECK(worker::to_string(kind) == name);
      CHECK(worker::failure_kind_from_string(name) == kind);
    }
  }
  SECTION("objects answer and error") {
    const json oj = worker::ObjectsAnswer{7, {"counter-cc", "t1"}};
    CHECK(oj == json{{"type", "objects"}, {"id", 7}, {"names", {"counter-cc", "t1"}}});
    auto o = decoded_as<worker::ObjectsAnswer>(oj);
    CHECK(o.id == 7);
    CHECK(o.names == std::vector<std::string>{"counter-cc", "t1"});

    const json ej = worker::ErrorReport{"unknown message type: bogus"};
    CHECK(ej == json{{"type", "error"}, {"message", "unknown message type: bogus"}});
    CHECK(decoded_as<worker::ErrorReport>(ej).message == "unknown message type: bogus");
    CHECK(worker::encode(worker::FromWorker{worker::ErrorReport{"x"}}) == json{{"type", "error"}, {"message", "x"}});
  }
}

TEST_CASE("worker protocol: unknown fields are ignored, a payload decodes like its JSON", "[worker]") {
  json st = {{"type", "started"}, {"job", "j1"}, {"since", 12}, {"extra", {{"x", 1}}}};
  CHECK(decoded_as<worker::Started>(st).job == "j1");
  auto m = worker::decode_frame(std::string_view(R"({"type":"log","job":"j2","data":"line"})"));
  REQUIRE(std::holds_alternative<worker::Log>(m));
  CHECK(std::get<worker::Log>(m).data == "line");
}

// ---------------------------------------------------------------- malformed input

TEST_CASE("worker protocol: a message that is not an object or has no string type is a protocol error", "[worker]") {
  for (const json& j : {json::array({1, 2}), json("hello"), json(42), json(nullptr)}) {
    Error e = decode_error(j);
    CHECK(e.code() == ErrorCode::protocol);
    CHECK(contains(e.what(), "must be a JSON object"));
    CHECK(contains(e.what(), j.type_name()));
  }
  Error e = decode_error(json{{"job", "j1"}});
  CHECK(e.code() == ErrorCode::protocol);
  CHECK(contains(e.what(), "no \"type\""));
  e = decode_error(json{{"type", 3}, {"job", "j1"}});
  CHECK(e.code() == ErrorCode::protocol);
  CHECK(contains(e.what(), "\"type\" must be a string"));
}

TEST_CASE("worker protocol: an unknown type is a protocol error naming it", "[worker]") {
  Error e = decode_error(json{{"type", "bogus"}, {"job", "j1"}});
  CHECK(e.code() == ErrorCode::protocol);
  CHECK(contains(e.what(), "unknown worker message type \"bogus\""));
  // a daemon->worker type is not something a worker may send, and the other way round
  e = decode_error(json{{"type", "run"}, {"job", "j1"}});
  CHECK(contains(e.what(), "unknown worker message type \"run\""));
  e = error_from([] { (void)worker::decode_for_worker(json{{"type", "finished"}, {"job", "j1"}}); });
  CHECK(e.code() == ErrorCode::protocol);
  CHECK(contains(e.what(), "unknown daemon message type \"finished\""));
}

TEST_CASE("worker protocol: a payload that is not JSON is a protocol error", "[worker]") {
  Error e = error_from([] { (void)worker::decode_frame(std::string_view("{not json")); });
  CHECK(e.code() == ErrorCode::protocol);
  CHECK(contains(e.what(), "is not JSON"));
}

TEST_CASE("worker protocol: a number out of range (1e999) is a protocol error, before and after the hello "
          "(found by fuzzing: json's out_of_range escaped the decoder and would have taken sjsd down)",
          "[worker]") {
  for (const char* payload : {R"({"type":"progress","job":"j","value":-8e546})", R"({"type":"hello","protocol":1e999})"}) {
    Error e = error_from([&] { (void)worker::decode_frame(std::string_view(payload)); });
    CHECK(e.code() == ErrorCode::protocol);
    CHECK(contains(e.what(), "is not JSON"));
    e = error_from([&] { (void)worker::check_hello_frame(std::string_view(payload)); });
    CHECK(e.code() == ErrorCode::protocol);
  }
}

TEST_CASE("worker protocol: a missing field is a protocol error naming the message and the field", "[worker]") {
  struct Case {
    json message;
    std::string field;
  };
  const std::vector<Case> cases = {
      {{{"type", "started"}}, "job"},
      {{{"type", "log"}, {"job", "j"}}, "data"},
      {{{"type", "log"}, {"data", "x"}}, "job"},
      {{{"type", "progress"}, {"job", "j"}}, "value"},
      {{{"type", "finished"}, {"job", "j"}}, "result"},
      {{{"type", "failed"}, {"job", "j"}, {"error", valid_failed()["error"]}}, "kind"},
      {{{"type", "failed"}, {"job", "j"}, {"kind", "error"}}, "error"},
      {{{"type", "failed"}, {"job", "j"}, {"kind", "error"}, {"error", {{"message", "m"}, {"stack", json::array()}}}},
       "error.errorClass"},
      {{{"type", "failed"}, {"job", "j"}, {"kind", "error"}, {"error", {{"message", "m"}, {"errorClass", "c"}}}},
       "error.stack"},
      {{{"type", "objects"}, {"names", json::array()}}, "id"},
      {{{"type", "objects"}, {"id", 1}}, "names"},
      {{{"type", "error"}}, "message"},
      {{{"type", "hello"}, {"protocol", 1}, {"pid", 1}, {"capabilities", json::array()}}, "runtime"},
      {{{"type", "hello"}, {"protocol", 1}, {"runtime", "jvm"}, {"capabilities", json::array()}}, "pid"},
      {{{"type", "hello"}, {"protocol", 1}, {"runtime", "jvm"}, {"pid", 1}}, "capabilities"},
      {{{"type", "hello"}, {"runtime", "jvm"}, {"pid", 1}, {"capabilities", json::array()}}, "protocol"},
  };
  for (const auto& c : cases) {
    INFO(c.message.dump());
    Error e = decode_error(c.message);
    CHECK(e.code() == ErrorCode::protocol);
    const std::string type = c.message["type"];
    CHECK(contains(e.what(), "bad worker message \"" + type + "\""));
    CHECK(contains(e.what(), "field \"" + c.field + "\" is missing"));
  }
  // the daemon's messages, as a worker decodes them
  Error e = error_from([] { (void)worker::decode_for_worker(json{{"type", "cancel"}}); });
  CHECK(e.code() == ErrorCode::protocol);
  CHECK(contains(e.what(), "field \"job\" is missing"));
  json run = worker::Run{"j", "E", {{"b", 1, "s", "/p"}}, json::object(), "c", nullptr, ""};
  run["binaries"][0].erase("path");
  e = error_from([&] { (void)worker::decode_for_worker(run); });
  CHECK(contains(e.what(), "field \"binaries[0].path\" is missing"));
}

TEST_CASE("worker protocol: a field of the wrong type is a protocol error naming the field and what it must be",
          "[worker]") {
  struct Case {
    json message;
    std::string problem;
  };
  json failed_stack = valid_failed();
  failed_stack["error"]["stack"] = {"at x", 3};
  json failed_error = valid_failed();
  failed_error["error"] = "boom";
  json hello_spark = valid_hello();
  hello_spark["spark"] = {{"version", "3.5.1"}, {"master", 1}, {"applicationId", "a"}};
  json hello_caps = valid_hello();
  hello_caps["capabilities"] = "cancel";
  const std::vector<Case> cases = {
      {{{"type", "started"}, {"job", 42}}, "field \"job\" must be a string, not a number (42)"},
      {{{"type", "log"}, {"job", "j"}, {"data", nullptr}}, "field \"data\" must be a string, not a null"},
      {{{"type", "progress"}, {"job", "j"}, {"value", "0.5"}}, "field \"value\" must be a number, not a string"},
      {{{"type", "progress"}, {"job", "j"}, {"value", 0.5}, {"message", 1}}, "field \"message\" must be a string"},
      {{{"type", "finished"}, {"job", {"j"}}, {"result", 1}}, "field \"job\" must be a string, not an array"},
      {{{"type", "failed"}, {"job", "j"}, {"kind", "exploded"}, {"error", valid_failed()["error"]}},
       "unknown failure kind \"exploded\""},
      {failed_error, "\"error\" must be an object, not a string"},
      {failed_stack, "field \"error.stack[1]\" must be a string, not a number"},
      {{{"type", "objects"}, {"id", -1}, {"names", json::array()}}, "field \"id\" must be a non-negative integer"},
      {{{"type", "objects"}, {"id", 1}, {"names", {"a", false}}}, "field \"names[1]\" must be a string, not a boolean"},
      {{{"type", "error"}, {"message", {{"m", 1}}}}, "field \"message\" must be a string, not an object"},
      {hello_spark, "field \"spark.master\" must be a string, not a number"},
      {hello_caps, "field \"capabilities\" must be an array of strings, not a string"},
  };
  for (const auto& c : cases) {
    INFO(c.message.dump());
    Error e = decode_error(c.message);
    CHECK(e.code() == ErrorCode::protocol);
    CHECK(contains(e.what(), c.problem));
  }
  json run = worker::Run{"j", "E", {}, json::object(), "c", nullptr, ""};
  run["config"] = "x=1";
  Error e = error_from([&] { (void)worker::decode_for_worker(run); });
  CHECK(e.code() == ErrorCode::protocol);
  CHECK(contains(e.what(), "field \"config\" must be an object, not a string"));
}

// ---------------------------------------------------------------- the hello check

TEST_CASE("worker protocol: check_hello accepts a hello of this protocol version", "[worker]") {
  auto h = worker::check_hello(valid_hello());
  CHECK(h.protocol == worker::k_protocol_version);
  CHECK(h.runtime == "jvm");
  h = worker::check_hello_frame(std::string_view(valid_hello().dump()));
  CHECK(h.pid == 4242);
}

TEST_CASE("worker protocol: check_hello refuses another version, naming both, before looking at other fields",
          "[worker]") {
  json v2 = valid_hello();
  v2["protocol"] = 2;
  Error e = error_from([&] { (void)worker::check_hello(v2); });
  CHECK(e.code() == ErrorCode::protocol);
  CHECK(std::string(e.what()) ==
        "worker speaks protocol 2, sjsd speaks 1: install matching versions of sjsd and the runner");
  // a future hello with other fields: still told about the version, not about a field
  e = error_from([] { (void)worker::check_hello(json{{"type", "hello"}, {"protocol", 3}, {"runtimes", {"x"}}}); });
  CHECK(contains(e.what(), "worker speaks protocol 3, sjsd speaks 1"));
  // no version at all
  json none = valid_hello();
  none.erase("protocol");
  e = error_from([&] { (void)worker::check_hello(none); });
  CHECK(e.code() == ErrorCode::protocol);
  CHECK(contains(e.what(), "no integer \"protocol\""));
  none["protocol"] = "1";
  e = error_from([&] { (void)worker::check_hello(none); });
  CHECK(contains(e.what(), "no integer \"protocol\""));
}

TEST_CASE("worker protocol: check_hello refuses a first message that is not a hello", "[worker]") {
  Error e = error_from([] { (void)worker::check_hello(json{{"type", "started"}, {"job", "j"}}); });
  CHECK(e.code() == ErrorCode::protocol);
  CHECK(std::string(e.what()) == "the worker's first message must be a hello, not \"started\"");
  e = error_from([] { (void)worker::check_hello(json::array()); });
  CHECK(std::string(e.what()) == "the worker's first message must be a hello, not an array");
  e = error_from([] { (void)worker::check_hello(json{{"protocol", 1}}); });
  CHECK(contains(e.what(), "not an object without a string \"type\""));
  e = error_from([] { (void)worker::check_hello_frame(std::string_view("Exception in thread")); });
  CHECK(e.code() == ErrorCode::protocol);
  CHECK(contains(e.what(), "the worker's first frame (its hello) is not JSON"));
  // a hello of the right version with a broken field is still refused
  json bad = valid_hello();
  bad["pid"] = "4242";
  e = error_from([&] { (void)worker::check_hello(bad); });
  CHECK(contains(e.what(), "field \"pid\" must be an integer"));
}

// ---------------------------------------------------------------- the daemon's side

namespace {

// A real worker process for WorkerRuntime, scripted by its first argument.
constexpr const char* k_scripted_worker = R"PY(
import json, os, struct, sys, time
FD = int(os.environ["SJS_WORKER_FD"])

def write(b):
    while b:
        b = b[os.write(FD, b):]

def frame(payload):
    return struct.pack(">I", len(payload)) + payload

def send(m):
    write(frame(json.dumps(m).encode()))

def read_exact(n):
    b = b""
    while len(b) < n:
        c = os.read(FD, n - len(b))
        if not c:
            return None
        b += c
    return b

def recv():
    h = read_exact(4)
    return None if h is None else json.loads(read_exact(struct.unpack(">I", h)[0]))

mode = sys.argv[1]
if mode == "hello-v2":
    send({"type": "hello", "protocol": 2, "runtime": "scripted"})
elif mode == "garbage":
    write(b"Exception in thread \"main\" java.lang.Error\n")
elif mode == "not-json":
    write(frame(b"{oops"))
elif mode == "started-first":
    send({"type": "started", "job": "j1"})
elif mode == "jobs":
    send({"type": "hello", "protocol": 1, "runtime": "scripted", "pid": os.getpid(), "capabilities": ["cancel"]})
    while True:
        m = recv()
        if m is None or m["type"] == "shutdown":
            sys.exit(0)
        if m["type"] == "objects":
            send({"type": "objects", "id": m["id"], "names": ["a", "b"]})
        elif m["type"] == "run":
            job = m["job"]
            if m["entry"] == "loading":
                send({"type": "failed", "job": job, "kind": "loading",
                      "error": {"message": "class loading not found in " + m["binaries"][0]["name"],
                                "errorClass": "java.lang.ClassNotFoundException", "stack": []}})
            elif m["entry"] == "bad-finished":
                send({"type": "started", "job": job})
                send({"type": "finished", "job": 42, "result": 1})
            else:
                send({"type": "started", "job": job})
                send({"type": "log", "job": job, "data": "run " + json.dumps(m, sort_keys=True)})
                send({"type": "progress", "job": job, "value": 0.5})
                send({"type": "finished", "job": job, "result": m["config"]})
time.sleep(60)
)PY";

struct RecordingSink : sjs::JobSink {
  std::vector<std::string> started;
  std::string output;
  std::map<std::string, sjs::JobOutcome> ended;
  std::vector<std::string> died;
  void job_started(const std::string& id, int) override { started.push_back(id); }
  void job_output(const std::string&, std::string_view data) override { output += data; }
  void job_ended(const std::string& id, sjs::JobOutcome o) override { ended[id] = std::move(o); }
  void runtime_died(sjs::Runtime&, const std::string& why) override { died.push_back(why); }
};

// Owns the io_context, the sink and the runtime, destroyed in that reverse order.
class ScriptedWorker {
  sjs::test::TempDir m_dir;
  boost::asio::io_context m_io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> m_guard;

 public:
  explicit ScriptedWorker(const std::string& mode) : m_guard(m_io.get_executor()) {
    const std::string script = m_dir.path() + "/worker.py";
    std::ofstream(script) << k_scripted_worker;
    sjs::RuntimeOptions options;
    options.context_name = "scripted";
    options.log_path = m_dir.path() + "/context.log";
    options.start_timeout_s = 30;
    options.kill_grace_s = 5;
    sjs::Launch launch{"python3", {"python3", script, mode}, {"SJS_WORKER_FD=3"}};
    runtime = std::make_unique<sjs::WorkerRuntime>(m_io, sink, options, "scripted", launch);
  }

  // Starts the worker; its start error ("" = ready).
  std::string start() {
    std::optional<std::string> result;
    runtime->start([&](const std::string& error) { result = error; });
    run_until([&] { return result.has_value(); });
    return *result;
  }

  void run_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!done()) {
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      m_io.run_one_for(std::chrono::milliseconds(100));
    }
  }

  sjs::JobRun job(const std::string& id, const std::string& entry) {
    sjs::JobRun r;
    r.job.id = id;
    r.job.entry = entry;
    r.binaries = {{"lib", 3, std::string(64, 'a'), "/blobs/aa"}};
    r.config = {{"n", 1}};
    return r;
  }

  RecordingSink sink;
  std::unique_ptr<sjs::WorkerRuntime> runtime;
};

}  // namespace

TEST_CASE("worker runtime: a worker of another protocol version is a failed start naming both versions", "[worker]") {
  ScriptedWorker w("hello-v2");
  CHECK(w.start() == "worker speaks protocol 2, sjsd speaks 1: install matching versions of sjsd and the runner");
  CHECK(w.sink.died.empty());
}

TEST_CASE("worker runtime: a worker whose first message is not a hello, or garbage, is a failed start", "[worker]") {
  {
    ScriptedWorker w("started-first");
    CHECK(w.start() == "the worker's first message must be a hello, not \"started\"");
  }
  {
    ScriptedWorker w("not-json");
    CHECK(contains(w.start(), "the worker's first frame (its hello) is not JSON"));
  }
  {
    ScriptedWorker w("garbage");  // text on fd 3: its first 4 bytes read as a length over the limit
    const std::string error = w.start();
    CHECK(contains(error, "the worker sent a garbled frame"));
    CHECK(contains(error, "exceeds the limit"));
  }
}

TEST_CASE("worker runtime: jobs run over typed messages, failed kind loading ends ERROR with end_reason loading",
          "[worker]") {
  ScriptedWorker w("jobs");
  REQUIRE(w.start() == "");

  w.runtime->run(w.job("j-ok", "Echo"));
  w.run_until([&] { return w.sink.ended.count("j-ok") > 0; });
  const auto& ok = w.sink.ended["j-ok"];
  CHECK(ok.state == sjs::job_state::k_finished);
  CHECK(ok.result == json{{"n", 1}});
  CHECK(w.sink.started == std::vector<std::string>{"j-ok"});
  // the run message as the worker received it
  CHECK(contains(w.sink.output, R"("binaries": [{"name": "lib", "path": "/blobs/aa", "sha256": ")"));
  CHECK(contains(w.sink.output, R"("context": "scripted", "entry": "Echo", "job": "j-ok", "type": "run")"));
  CHECK(contains(w.sink.output, "[progress 50%] \n"));

  w.runtime->run(w.job("j-load", "loading"));
  w.run_until([&] { return w.sink.ended.count("j-load") > 0; });
  const auto& load = w.sink.ended["j-load"];
  CHECK(load.state == sjs::job_state::k_error);
  CHECK(load.end_reason == sjs::end_reason::k_loading);
  CHECK(load.end_reason == "loading");
  CHECK(load.error["message"] == "class loading not found in lib");
  CHECK(load.error["errorClass"] == "java.lang.ClassNotFoundException");

  std::optional<std::vector<std::string>> names;
  w.runtime->list_objects([&](std::vector<std::string> n, const std::string&) { names = std::move(n); });
  w.run_until([&] { return names.has_value(); });
  CHECK(*names == std::vector<std::string>{"a", "b"});

  bool stopped = false;
  w.runtime->stop([&] { stopped = true; });
  w.run_until([&] { return stopped; });
  CHECK(w.sink.died.empty());
}

TEST_CASE("worker runtime: a ready worker that sends a malformed message is killed, its jobs end naming why",
          "[worker]") {
  ScriptedWorker w("jobs");
  REQUIRE(w.start() == "");
  w.runtime->run(w.job("j-bad", "bad-finished"));
  w.run_until([&] { return w.sink.ended.count("j-bad") > 0 && !w.sink.died.empty(); });
  const auto& bad = w.sink.ended["j-bad"];
  CHECK(bad.state == sjs::job_state::k_error);
  const std::string message = bad.error["message"];
  CHECK(contains(message, "context scripted died: its worker broke the worker protocol"));
  CHECK(contains(message, "bad worker message \"finished\": field \"job\" must be a string, not a number (42)"));
  CHECK(contains(w.sink.died[0], "broke the worker protocol"));
}

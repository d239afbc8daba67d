// Partition servers end to end: the real sjsd as coordinator, the real Python runner serving
// partitions on loopback from local threads (and from a stand-in Spark's tasks through the
// runner's relay), driven by the real `sjs cluster` and by curl against sjsd and the servers.
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.hpp"
#include "http_sandbox.hpp"

using namespace sjs::test;
using nlohmann::json;

namespace {

constexpr double k_slow = 60;
const std::string k_conf = "clusters.health-interval-seconds = 0.3\n";

// A search server over a partition of integers: /app/get_list, /app/contains?x=N, /app/crash
// (SystemExit: the server dies and is restarted), result() = what it served.
const char* k_search_py = R"PY(
import sjs
from urllib.parse import parse_qs


class Search:
    def init_partition(self, rows, config):
        self.rows = list(rows)
        self.members = set(self.rows)
        self.requests = 0

    def __call__(self, environ, start_response):
        self.requests += 1
        path = environ.get("PATH_INFO", "")
        if path == "/get_list":
            body = ",".join(str(r) for r in self.rows)
        elif path == "/contains":
            x = int(parse_qs(environ.get("QUERY_STRING", "")).get("x", ["-1"])[0])
            body = "true" if x in self.members else "false"
        elif path == "/crash":
            raise SystemExit(3)
        else:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no such thing"]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body.encode()]

    def result(self):
        return {"partition": self.partition, "requests": self.requests, "sum": sum(self.rows)}


class NoHandler:
    def init_partition(self, rows, config):
        pass


def split(n, total=1000):
    size = total // n
    return [list(range(i * size, (i + 1) * size)) for i in range(n)]


def run(ctx, config):
    n = int(config.get("partitions", 4))
    data = split(n) if n > 0 else []
    if ctx.sc is not None and config.get("rdd", False):
        data = ctx.sc.parallelize(list(range(1000)), n)
    server = NoHandler if config.get("nohandler", False) else Search
    return ctx.serve_partitions(data, server, name=config.get("name", "search"), config={}, host="127.0.0.1")
)PY";

void upload_search(const Sandbox& sb) {
  auto r = sb.sjs({"binary", "upload", "search", sb.write_file("search.py", k_search_py)});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

void python_context(const Sandbox& sb, const std::string& name) {
  auto r = sb.sjs({"context", "create", name, "--runtime", "python", "--max-jobs", "4"}, "", k_slow);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

json cluster_json(const Sandbox& sb, const std::string& name) {
  auto r = sb.sjs_json({"cluster", "show", name});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

void wait_ready(const Sandbox& sb, const std::string& name, const std::string& job) {
  auto r = sb.sjs({"cluster", "wait", name, "--timeout", "60"}, "", 90);
  INFO("cluster wait: " << r.out << r.err << "\njob log:\n" << sb.sjs({"job", "log", job}).out);
  REQUIRE(r.exit_code == 0);
}

// curl against a partition server (not sjsd).
HttpReply fetch(const Sandbox& sb, const std::string& url, const std::string& method = "GET") {
  static int n = 0;
  const std::string body_file = sb.dir() + "/fetch-" + std::to_string(++n);
  auto r = run_process({"/usr/bin/curl", "-sS", "-X", method, "-o", body_file, "-w", "%{http_code}", "--max-time", "20", url},
                       {}, "", 30);
  HttpReply reply;
  reply.status = r.exit_code == 0 ? std::stoi(r.out) : 0;
  reply.body = r.exit_code == 0 ? read_all(body_file) : r.err;
  return reply;
}

bool port_closed(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool refused = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0;
  ::close(fd);
  return refused;
}

std::string expected_list(int partition, int n) {
  std::string out;
  const int size = 1000 / n;
  for (int v = partition * size; v < (partition + 1) * size; ++v) out += (out.empty() ? "" : ",") + std::to_string(v);
  return out;
}

}  // namespace

TEST_CASE("a 4-partition python cluster goes READY, each partition server answers its own data, clients find them "
          "through sjsd, stop collects four results and the job ends FINISHED",
          "[clusters]") {
  HttpSandbox h(k_conf);
  const Sandbox& sb = h.sb();
  upload_search(sb);
  python_context(sb, "py");
  const std::string job = sb.submit({"search", "run", "--context", "py"});
  wait_ready(sb, "search", job);

  json c = cluster_json(sb, "search");
  CHECK(c["state"] == "READY");
  CHECK(c["job"] == job);
  CHECK(c["context"] == "py");
  CHECK(c["partitions"] == 4);
  REQUIRE(c["servers"].size() == 4);
  std::vector<int> ports;
  for (int i = 0; i < 4; ++i) {
    const json& s = c["servers"][i];
    CHECK(s["partition"] == i);
    CHECK(s["state"] == "UP");
    CHECK(s["host"] == "127.0.0.1");
    const std::string url = s["url"];
    ports.push_back(s["port"]);
    auto list = fetch(sb, url + "/app/get_list");
    CHECK(list.status == 200);
    CHECK(list.body == expected_list(i, 4));
    CHECK(fetch(sb, url + "/app/contains?x=" + std::to_string(i * 250 + 7)).body == "true");
    CHECK(fetch(sb, url + "/app/contains?x=" + std::to_string(((i + 1) % 4) * 250)).body == "false");
    auto health = fetch(sb, url + "/control/health");
    CHECK(health.status == 200);
    CHECK(json::parse(health.body)["partition"] == i);
    CHECK(fetch(sb, url + "/elsewhere").status == 404);
  }
  // The address map over HTTP, and the list.
  auto http = h.get("/clusters/search");
  CHECK(http.status == 200);
  CHECK(json::parse(http.body)["servers"] == c["servers"]);
  auto all = h.get("/clusters");
  CHECK(all.status == 200);
  CHECK(json::parse(all.body)[0]["name"] == "search");
  auto list = sb.sjs({"cluster", "list"});
  CHECK(contains(list.out, "search"));
  CHECK(contains(list.out, "READY"));
  CHECK(contains(list.out, "4/4"));
  auto show = sb.sjs({"cluster", "show", "search"});
  CHECK(contains(show.out, "127.0.0.1:" + std::to_string(ports[3])));
  // The job runs while the cluster serves; its results come at stop.
  CHECK(sb.job_json(job)["state"] == "RUNNING");
  auto early = sb.sjs({"cluster", "result", "search"});
  CHECK(early.exit_code == 9);
  CHECK(contains(early.err, "sjs cluster stop search"));

  auto stop = sb.sjs({"cluster", "stop", "search"}, "", 90);
  INFO(stop.err);
  REQUIRE(stop.exit_code == 0);
  const auto lines = lines_of(stop.out);
  REQUIRE(lines.size() == 4);
  for (int i = 0; i < 4; ++i) {
    json r = json::parse(lines[i]);
    CHECK(r["partition"] == i);
    CHECK(r["requests"] == 3);  // get_list and two contains (health checks are not the app's)
    CHECK(r["sum"] == (i * 250 + (i + 1) * 250 - 1) * 250 / 2);
  }
  REQUIRE(sb.wait_for_state(job, "FINISHED", k_slow));
  auto result = sb.sjs_json({"job", "result", job});
  REQUIRE(result.exit_code == 0);
  CHECK(json::parse(result.out)["result"].size() == 4);
  CHECK(cluster_json(sb, "search")["state"] == "STOPPED");
  CHECK(lines_of(sb.sjs({"cluster", "result", "search"}).out) == lines);
  for (int p : ports) CHECK(port_closed(p));
}

TEST_CASE("a forged registration is refused (403) and logged, and a partition server that crashes comes back and the "
          "cluster returns to READY",
          "[clusters]") {
  HttpSandbox h(k_conf);
  const Sandbox& sb = h.sb();
  upload_search(sb);
  python_context(sb, "py");
  const std::string job = sb.submit({"search", "run", "--context", "py", "--conf", "partitions=2"});
  wait_ready(sb, "search", job);

  const std::string reg = R"({"partition": 0, "host": "127.0.0.1", "port": 1})";
  auto forged = h.post("/clusters/search/register", reg, {"X-SJS-Cluster-Token: 0123456789abcdef0123456789abcdef"});
  CHECK(forged.status == 403);
  CHECK(contains(forged.body, "wrong cluster token"));
  CHECK(h.post("/clusters/search/register", reg).status == 403);
  CHECK(h.post("/clusters/nope/register", reg).status == 404);
  json c = cluster_json(sb, "search");
  CHECK(c["servers"][0]["port"] != 1);
  CHECK(c["servers"][0]["registrations"] == 1);
  CHECK(contains(sb.sjs({"job", "log", job}).out, "wrong token"));

  const std::string url1 = c["servers"][1]["url"];
  fetch(sb, url1 + "/app/crash");  // the server dies answering (or not) this
  REQUIRE(eventually([&] { return cluster_json(sb, "search")["servers"][1]["registrations"] == 2; }, 30));
  wait_ready(sb, "search", job);
  c = cluster_json(sb, "search");
  CHECK(c["state"] == "READY");
  CHECK(fetch(sb, c["servers"][1]["url"].get<std::string>() + "/app/get_list").body == expected_list(1, 2));
  const std::string log = sb.sjs({"job", "log", job}).out;
  CHECK(contains(log, "SystemExit"));
  CHECK(contains(log, "partition 1 registered again"));

  // The same name cannot be served twice at once; the second job fails saying why.
  int code = -1;
  json second = sb.submit_sync_json({"search", "run", "--context", "py", "--conf", "partitions=1"}, &code, k_slow);
  CHECK(code == 1);
  CHECK(contains(second["job"]["error"]["message"].get<std::string>(), "already serving"));
  CHECK(sb.sjs({"cluster", "stop", "search"}, "", 90).exit_code == 0);
}

TEST_CASE("killing the job stops every server and frees every port, and cluster records survive a daemon restart, shown "
          "as ended",
          "[clusters]") {
  HttpSandbox h(k_conf);
  const Sandbox& sb = h.sb();
  upload_search(sb);
  python_context(sb, "py");
  const std::string job = sb.submit({"search", "run", "--context", "py", "--conf", "partitions=3"});
  wait_ready(sb, "search", job);
  std::vector<int> ports;
  for (const auto& s : cluster_json(sb, "search")["servers"]) ports.push_back(s["port"]);
  REQUIRE(sb.sjs({"job", "kill", job}).exit_code == 0);
  REQUIRE(sb.wait_for_state(job, "KILLED", k_slow));
  REQUIRE(eventually([&] { return cluster_json(sb, "search")["state"] == "STOPPED"; }, 20));
  CHECK(cluster_json(sb, "search")["error"] == "the job was killed");
  for (int p : ports) CHECK(eventually([&] { return port_closed(p); }, 10));
  CHECK(sb.sjs({"cluster", "wait", "search"}).exit_code == 4);  // it stopped without being READY again

  const std::string job2 = sb.submit({"search", "run", "--context", "py", "--conf", "partitions=2", "--conf", "name=again"});
  wait_ready(sb, "again", job2);
  sb.kill_daemon();
  sb.start_daemon();
  json again = cluster_json(sb, "again");
  CHECK(again["state"] == "FAILED");
  CHECK(contains(again["error"].get<std::string>(), "daemon restarted"));
  CHECK(again["servers"].size() == 2);
  CHECK(cluster_json(sb, "search")["state"] == "STOPPED");
  auto wait = sb.sjs({"cluster", "wait", "again"});
  CHECK(wait.exit_code == 1);
}

TEST_CASE("clusters: bad input gets a clear error and its exit code: an unknown cluster, zero partitions, a server "
          "class without a handler",
          "[clusters]") {
  HttpSandbox h(k_conf);
  const Sandbox& sb = h.sb();
  for (const std::vector<std::string>& cmd : std::vector<std::vector<std::string>>{
           {"cluster", "show", "nope"}, {"cluster", "wait", "nope", "--timeout", "0.5"}, {"cluster", "stop", "nope"},
           {"cluster", "result", "nope"}}) {
    auto r = sb.sjs(cmd);
    CHECK(r.exit_code == 7);
    CHECK(contains(r.err, "no cluster named \"nope\""));
  }
  CHECK(h.get("/clusters/nope").status == 404);
  CHECK(h.del("/clusters/nope").status == 404);
  CHECK(h.post("/clusters/x/register", "not json").status == 400);

  upload_search(sb);
  python_context(sb, "py");
  int code = -1;
  json zero = sb.submit_sync_json({"search", "run", "--context", "py", "--conf", "partitions=0"}, &code, k_slow);
  CHECK(code == 1);
  CHECK(contains(zero["job"]["error"]["message"].get<std::string>(), "at least one partition"));
  json nohandler =
      sb.submit_sync_json({"search", "run", "--context", "py", "--conf", "nohandler=true"}, &code, k_slow);
  CHECK(code == 1);
  CHECK(contains(nohandler["job"]["error"]["message"].get<std::string>(), "no request handler"));
  CHECK(sb.sjs({"cluster", "list"}).exit_code == 0);
}

// ---- the spark path ------------------------------------------------------------------------------

namespace {

// A fake SPARK_HOME: bin/spark-submit records its arguments; python/pyspark's SparkContext runs it as
// the real gateway does, and its RDDs run mapPartitionsWithIndex's function for each partition on
// a thread of its own (the way executors run the tasks), retrying a failed task as Spark would.
std::string make_fake_spark(const Sandbox& sb, const std::string& records) {
  std::filesystem::create_directories(records);
  sb.write_file("fake-spark/bin/spark-submit",
                "#!/bin/sh\n: > '" + records + "/argv'\n"
                "for a in \"$@\"; do printf '%s\\n' \"$a\" >> '" + records + "/argv'; done\n",
                0755);
  sb.write_file("fake-spark/python/pyspark/__init__.py", R"PY(
import os, shlex, subprocess, threading

class SparkConf:
    def contains(self, key):
        return False
    def get(self, key, default=None):
        return "127.0.0.1" if key == "spark.driver.host" else default

class RDD:
    def __init__(self, items, slices=1, compute=None):
        self._items = None if items is None else list(items)
        self.slices = slices
        self._compute = compute
    @property
    def items(self):
        if self._items is None:
            self._items = self._compute()
        return self._items
    def getNumPartitions(self):
        return self.slices
    def cache(self):
        return self
    def collect(self):
        return list(self.items)
    def mapPartitionsWithIndex(self, f):
        n, items = self.slices, self.items
        parts = [items[i * len(items) // n:(i + 1) * len(items) // n] for i in range(n)]
        def compute():
            out = [None] * n
            def task(i):
                for attempt in range(4):
                    try:
                        out[i] = list(f(i, iter(parts[i])))
                        return
                    except Exception:
                        pass
            threads = [threading.Thread(target=task, args=(i,)) for i in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return [x for o in out for x in (o or [])]
        return RDD(None, n, compute)

class SparkContext:
    _started = False
    @classmethod
    def _ensure_initialized(cls):
        if not cls._started:
            cls._started = True
            subprocess.check_call([os.environ['SPARK_HOME'] + '/bin/spark-submit'] + shlex.split(os.environ.get('PYSPARK_SUBMIT_ARGS', 'pyspark-shell')))
    def __init__(self, master=None, name=None):
        self.master = master or 'local[*]'
        self.appName = name
        self.version = '3.5.0-fake'
        self.applicationId = 'fake-app'
    def getConf(self):
        return SparkConf()
    def setJobGroup(self, group, description, interruptOnCancel=False):
        pass
    def setLocalProperty(self, key, value):
        pass
    def cancelJobGroup(self, group):
        pass
    def addPyFile(self, path):
        pass
    def parallelize(self, items, slices=1):
        return RDD(items, slices)
    def stop(self):
        pass
)PY");
  sb.write_file("fake-spark/python/pyspark/sql/__init__.py", R"PY(
from pyspark import SparkContext
class _Builder:
    def master(self, m):
        self._m = m
        return self
    def appName(self, n):
        self._n = n
        return self
    def config(self, *a, **k):
        return self
    def getOrCreate(self):
        return SparkSession(SparkContext(getattr(self, '_m', None), getattr(self, '_n', None)))
class SparkSession:
    builder = _Builder()
    def __init__(self, sc):
        self.sparkContext = sc
    def stop(self):
        pass
class SQLContext:
    def __init__(self, sc, session=None):
        self._sc = sc
)PY");
  return sb.dir() + "/fake-spark";
}

}  // namespace

TEST_CASE("a pyspark context serves the example's RDD partitions from Spark tasks that register through the "
          "runner's relay, and stop collects their results",
          "[clusters][pyspark]") {
  Sandbox sb(k_fast_grace_conf + k_conf);
  const std::string records = sb.dir() + "/records";
  const std::string spark_home = make_fake_spark(sb, records);
  auto started = run_process({k_sjs, "daemon", "start"}, {{"SJS_HOME", sb.home()}, {"SPARK_HOME", spark_home}});
  INFO(started.err);
  REQUIRE(started.exit_code == 0);
  REQUIRE(sb.sjs({"binary", "upload", "search", std::string(k_source) + "/examples/python/partition_search.py"}).exit_code == 0);
  auto r = sb.sjs({"context", "create", "ps", "--runtime", "pyspark", "--set", "master=\"local[4]\""}, "", k_slow);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto argv = lines_of(read_all(records + "/argv"));
  REQUIRE(argv.size() >= 2);
  CHECK(argv[0] == "--master");
  CHECK(argv[1] == "local[4]");
  CHECK(argv.back() == "pyspark-shell");

  const std::string job = sb.submit({"search", "run", "--context", "ps", "--conf", "host=127.0.0.1"});
  wait_ready(sb, "search", job);
  json c = cluster_json(sb, "search");
  CHECK(c["runtime"] == "pyspark");
  REQUIRE(c["servers"].size() == 4);
  for (int i = 0; i < 4; ++i) {
    CHECK(fetch(sb, c["servers"][i]["url"].get<std::string>() + "/app/get_list").body == expected_list(i, 4));
  }
  CHECK(contains(sb.sjs({"job", "log", job}).out, "relay"));
  auto stop = sb.sjs({"cluster", "stop", "search"}, "", 90);
  INFO(stop.err);
  REQUIRE(stop.exit_code == 0);
  const auto lines = lines_of(stop.out);
  REQUIRE(lines.size() == 4);
  CHECK(json::parse(lines[2])["partition"] == 2);
  CHECK(json::parse(lines[2])["requests"] == 1);
  REQUIRE(sb.wait_for_state(job, "FINISHED", k_slow));
}

TEST_CASE("a jvm context serves partitions from Java (sjs.examples.PartitionSearch): READY, each server answers its "
          "rows, stop collects the results",
          "[clusters][jvm]") {
  HttpSandbox h(k_conf);
  const Sandbox& sb = h.sb();
  REQUIRE(sb.sjs({"binary", "upload", "examples", examples_jar()}).exit_code == 0);
  auto r = sb.sjs({"context", "create", "j", "--runtime", "jvm"}, "", k_slow);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string job = sb.submit({"examples", "sjs.examples.PartitionSearch", "--context", "j", "--conf",
                                     "host=127.0.0.1", "--conf", "partitions=2", "--conf", "name=jsearch"});
  wait_ready(sb, "jsearch", job);
  json c = cluster_json(sb, "jsearch");
  CHECK(c["runtime"] == "jvm");
  REQUIRE(c["servers"].size() == 2);
  for (int i = 0; i < 2; ++i) {
    const std::string url = c["servers"][i]["url"];
    CHECK(fetch(sb, url + "/app/get_list").body == expected_list(i, 2));
    CHECK(fetch(sb, url + "/control/health").status == 200);
  }
  auto stop = sb.sjs({"cluster", "stop", "jsearch"}, "", 90);
  INFO(stop.err);
  REQUIRE(stop.exit_code == 0);
  const auto lines = lines_of(stop.out);
  REQUIRE(lines.size() == 2);
  CHECK(json::parse(lines[1])["partition"] == 1);
  CHECK(json::parse(lines[1])["requests"] == 1);
  REQUIRE(sb.wait_for_state(job, "FINISHED", k_slow));
}

// Jobs end to end: submit (sync and async), results, logs, config redaction,
// kill, timeouts, waits, idempotency keys, queueing and priorities, listings,
// and many clients at once. The real sjs against a real sjsd in a sandbox.
#include <atomic>
#include <chrono>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace sjs::test;
using nlohmann::json;

namespace {

// The newest job's id (for commands that print a result, not an id).
std::string newest_job(const Sandbox& sb) {
  auto r = sb.sjs_json({"job", "list", "--limit", "1"});
  REQUIRE(r.exit_code == 0);
  auto jobs = r.json()["jobs"];
  REQUIRE(jobs.size() == 1);
  return jobs[0]["id"];
}

std::vector<std::string> ids_of(const json& list) {
  std::vector<std::string> ids;
  for (const auto& j : list["jobs"]) ids.push_back(j["id"]);
  return ids;
}

}  // namespace

// ---- results and outcomes -------------------------------------------------------------

TEST_CASE("submit --sync: the result comes from $SJS_RESULT, else stdout JSON, else stdout text as a string",
          "[jobs][result]") {
  Sandbox sb(k_fast_grace_conf);
  sb.upload_script("file", "echo 'noise on stdout'; echo '{\"from\": \"file\", \"n\": [1, 2]}' > \"$SJS_RESULT\"");
  sb.upload_script("stdout", "echo '{\"from\": \"stdout\", \"ok\": true}'");
  sb.upload_script("text", "echo 'hello plain world'");

  auto f = sb.sjs({"job", "submit", "file", "--sync"});
  INFO(f.err);
  CHECK(f.exit_code == 0);
  CHECK(f.json() == json{{"from", "file"}, {"n", {1, 2}}});

  auto s = sb.sjs({"job", "submit", "stdout", "--sync"});
  CHECK(s.exit_code == 0);
  CHECK(s.json() == json{{"from", "stdout"}, {"ok", true}});

  auto t = sb.sjs({"job", "submit", "text", "--sync"});
  CHECK(t.exit_code == 0);
  CHECK(t.out == "hello plain world\n");
  auto tj = sb.sjs_json({"job", "submit", "text", "--sync"});
  CHECK(tj.exit_code == 0);
  CHECK(tj.json()["result"] == "hello plain world");
  CHECK(tj.json()["job"]["state"] == "FINISHED");
  CHECK(tj.json()["job"]["exit_status"] == 0);
}

TEST_CASE("a job that exits 3 ends ERROR: submit --sync exits 1, names the status, and keeps the stderr tail",
          "[jobs][result]") {
  Sandbox sb(k_fast_grace_conf);
  sb.upload_script("fail", "echo 'some stdout'; echo 'boom on stderr' >&2; exit 3");
  auto r = sb.sjs({"job", "submit", "fail", "--sync"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("status 3") != std::string::npos);
  CHECK(r.err.find("ERROR") != std::string::npos);
  CHECK(r.out.empty());

  auto st = sb.job_json(newest_job(sb));
  CHECK(st["state"] == "ERROR");
  CHECK(st["exit_status"] == 3);
  CHECK(st["signal"] == 0);
  REQUIRE(st["error"].is_object());
  CHECK(st["error"]["message"].get<std::string>().find("3") != std::string::npos);
  REQUIRE(st["error"]["stack"].is_array());
  bool has_tail = false;
  for (const auto& line : st["error"]["stack"]) has_tail = has_tail || line == "boom on stderr";
  CHECK(has_tail);
  // `job result` and `job wait` of it tell the same outcome.
  CHECK(sb.sjs({"job", "result", st["id"]}).exit_code == 1);
  CHECK(sb.sjs({"job", "wait", st["id"]}).exit_code == 1);
}

TEST_CASE("async submit prints only the job id, status, result, config and log describe the job", "[jobs][async]") {
  Sandbox sb(k_fast_grace_conf);
  sb.upload_script("talk", "echo 'line on stdout'; echo 'line on stderr' >&2; echo '{\"answer\": 42}' > \"$SJS_RESULT\"");
  auto r = sb.sjs({"job", "submit", "talk", "--conf", "input.n=7"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(std::regex_match(r.out, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n")));
  const std::string id = trim(r.out);

  REQUIRE(sb.sjs({"job", "wait", id}).exit_code == 0);
  auto st = sb.job_json(id);
  CHECK(st["id"] == id);
  CHECK(st["state"] == "FINISHED");
  CHECK(st["binary"] == "talk");
  CHECK(st["adhoc"] == true);
  CHECK(st["has_result"] == true);
  CHECK(st["started_ms"].get<std::int64_t>() >= st["submitted_ms"].get<std::int64_t>());
  CHECK(st["ended_ms"].get<std::int64_t>() >= st["started_ms"].get<std::int64_t>());
  auto human = sb.sjs({"job", "status", id});
  REQUIRE(human.exit_code == 0);
  CHECK(human.out.find(id) != std::string::npos);
  CHECK(human.out.find("FINISHED") != std::string::npos);

  auto res = sb.sjs({"job", "result", id});
  CHECK(res.exit_code == 0);
  CHECK(res.json() == json{{"answer", 42}});

  auto cfg = sb.sjs({"job", "config", id});
  CHECK(cfg.exit_code == 0);
  CHECK(cfg.json() == json{{"input", {{"n", 7}}}});

  auto log = sb.sjs({"job", "log", id});
  CHECK(log.exit_code == 0);
  CHECK(log.out.find("line on stdout\n") != std::string::npos);
  CHECK(log.out.find("line on stderr\n") != std::string::npos);

  CHECK(sb.sjs({"job", "status", "00000000-0000-4000-8000-000000000000"}).exit_code == 7);
}

TEST_CASE("job config hides secrets as ******** while the job itself gets the real value", "[jobs][secrets]") {
  Sandbox sb(k_fast_grace_conf);
  sb.upload_script("echoconf", "cat \"$SJS_CONFIG\" > \"$SJS_RESULT\"");
  auto r = sb.sjs_json({"job", "submit", "echoconf", "--sync", "--conf", "db.password=hunter2", "--conf", "db.user=bob",
                        "--conf", "api_token=tok-123"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string id = r.json()["job"]["id"];
  // The job saw the real values: it copied its config into its result.
  auto res = sb.sjs({"job", "result", id});
  REQUIRE(res.exit_code == 0);
  CHECK(res.json()["db"]["password"] == "hunter2");
  CHECK(res.json()["api_token"] == "tok-123");

  auto cfg = sb.sjs({"job", "config", id});
  REQUIRE(cfg.exit_code == 0);
  CHECK(cfg.json() == json{{"db", {{"password", "********"}, {"user", "bob"}}}, {"api_token", "********"}});
  CHECK(cfg.out.find("hunter2") == std::string::npos);
  auto cfg_json = sb.sjs_json({"job", "config", id});
  REQUIRE(cfg_json.exit_code == 0);
  CHECK(cfg_json.out.find("hunter2") == std::string::npos);
  CHECK(cfg_json.json()["config"]["db"]["password"] == "********");
  // Nor does it leak through status or listings.
  CHECK(sb.sjs_json({"job", "status", id}).out.find("hunter2") == std::string::npos);
  CHECK(sb.sjs_json({"job", "list"}).out.find("hunter2") == std::string::npos);
}

TEST_CASE("job log --follow streams a running job's output until it ends and exits with its outcome",
          "[jobs][log]") {
  Sandbox sb(k_fast_grace_conf);
  const std::string gate = sb.dir() + "/gate";
  sb.upload_script("slowlog", "echo first; echo first-err >&2; " + wait_for_file(gate) + "; echo second; exit 3");
  const std::string id = sb.submit({"slowlog"});
  REQUIRE(eventually([&] { return sb.sjs({"job", "log", id}).out.find("first-err") != std::string::npos; }, 10));

  std::atomic<bool> done{false};
  RunResult follow;
  std::thread t([&] {
    follow = sb.sjs({"job", "log", "--follow", id}, "", 20);
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const bool ended_early = done.load();
  touch(gate);
  t.join();
  CHECK_FALSE(ended_early);  // it waited for the job instead of stopping at the end of the log so far
  INFO(follow.err);
  CHECK(follow.exit_code == 1);  // the job ended ERROR
  CHECK(follow.out.find("first\n") != std::string::npos);
  CHECK(follow.out.find("first-err\n") != std::string::npos);
  CHECK(follow.out.find("second\n") != std::string::npos);

  // Following a job that has ended prints its log and exits with its outcome at once.
  auto again = sb.sjs({"job", "log", "-f", id}, "", 5);
  CHECK(again.exit_code == 1);
  CHECK(again.out.find("second\n") != std::string::npos);
}

TEST_CASE("arguments after -- reach the job as argv[1..] and SJS_JOB_ID is the job's id", "[jobs][args]") {
  Sandbox sb(k_fast_grace_conf);
  sb.upload_script("argv", "printf '%s\\n' \"$SJS_JOB_ID\" \"$#\" \"$@\"");
  auto r = sb.sjs_json({"job", "submit", "argv", "--sync", "--", "one", "two words", "--three"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto j = r.json();
  const std::string id = j["job"]["id"];
  CHECK(j["job"]["args"] == json{"one", "two words", "--three"});
  CHECK(j["result"] == id + "\n3\none\ntwo words\n--three");
}

// ---- kill, timeouts, waits -------------------------------------------------------------

TEST_CASE("job kill of a running job ends it KILLED and job wait then exits 4", "[jobs][kill]") {
  Sandbox sb(k_fast_grace_conf);
  sb.upload_script("forever", wait_for_file(sb.dir() + "/never"));
  const std::string id = sb.submit({"forever"});
  REQUIRE(sb.wait_for_state(id, "RUNNING", 10));
  auto k = sb.sjs({"job", "kill", id}, "", 20);
  INFO(k.err);
  CHECK(k.exit_code == 0);
  auto st = sb.job_json(id);
  CHECK(st["state"] == "KILLED");
  CHECK(st["end_reason"] == "killed");
  CHECK(sb.sjs({"job", "wait", id}).exit_code == 4);
  CHECK(sb.sjs({"job", "result", id}).exit_code == 4);
  // A job that has ended cannot be killed again.
  CHECK(sb.sjs({"job", "kill", id}).exit_code == 7);
}

TEST_CASE("job kill of a queued job ends it KILLED without it ever running", "[jobs][kill]") {
  Sandbox sb(k_fast_grace_conf);
  const std::string gate = sb.dir() + "/gate", marker = sb.dir() + "/ran";
  sb.upload_script("blocker", wait_for_file(gate));
  sb.upload_script("victim", "touch '" + marker + "'");
  REQUIRE(sb.sjs({"context", "create", "single", "--max-jobs", "1"}).exit_code == 0);
  const std::string blocker = sb.submit({"blocker", "--context", "single"});
  REQUIRE(sb.wait_for_state(blocker, "RUNNING", 10));
  const std::string victim = sb.submit({"victim", "--context", "single"});
  REQUIRE(sb.job_json(victim)["state"] == "QUEUED");

  auto k = sb.sjs({"job", "kill", victim});
  INFO(k.err);
  CHECK(k.exit_code == 0);
  touch(gate);
  CHECK(sb.sjs({"job", "wait", blocker}).exit_code == 0);
  CHECK(sb.sjs({"job", "wait", victim}).exit_code == 4);
  auto st = sb.job_json(victim);
  CHECK(st["state"] == "KILLED");
  CHECK(st["started_ms"] == 0);
  CHECK(st["pid"] == 0);
  CHECK_FALSE(std::ifstream(marker).good());
  CHECK(sb.sjs({"job", "log", victim}).out.empty());
}

TEST_CASE("job kill leaves no process of the job behind, even a child that ignores SIGTERM", "[jobs][kill]") {
  Sandbox sb(k_fast_grace_conf);
  sb.upload_script("spawner", "sleep 1000 &\n(trap '' TERM; exec sleep 1000) &\necho started\nwait");
  const std::string id = sb.submit({"spawner"});
  // The shell and both of its children carry the job's id.
  REQUIRE(eventually([&] { return job_processes(id).size() >= 3; }, 10));
  REQUIRE(sb.wait_for_state(id, "RUNNING", 10));

  auto k = sb.sjs({"job", "kill", id}, "", 20);
  INFO(k.err);
  CHECK(k.exit_code == 0);
  CHECK(sb.job_json(id)["state"] == "KILLED");
  CHECK(eventually([&] { return job_processes(id).empty(); }, 5));
}

TEST_CASE("submit --timeout kills a job that runs too long: submit --sync exits 5, state KILLED, end_reason timeout",
          "[jobs][timeout]") {
  Sandbox sb(k_fast_grace_conf);
  sb.upload_script("sleeper", "sleep 30");
  auto t0 = std::chrono::steady_clock::now();
  auto r = sb.sjs({"job", "submit", "sleeper", "--timeout", "1", "--sync"}, "", 20);
  const double took = seconds_since(t0);
  INFO(r.err);
  CHECK(r.exit_code == 5);
  CHECK(took >= 0.9);
  CHECK(took < 5);
  CHECK(r.err.find("timeout") != std::string::npos);
  auto st = sb.job_json(newest_job(sb));
  CHECK(st["state"] == "KILLED");
  CHECK(st["end_reason"] == "timeout");
  CHECK(st["timeout_s"] == 1);
  CHECK(sb.sjs({"job", "wait", st["id"]}).exit_code == 5);
}

TEST_CASE("submit --wait-timeout stops waiting with exit 6 while the job goes on to finish", "[jobs][wait]") {
  Sandbox sb(k_fast_grace_conf);
  const std::string gate = sb.dir() + "/gate";
  sb.upload_script("gated", wait_for_file(gate) + "; echo '\"done\"'");
  auto t0 = std::chrono::steady_clock::now();
  auto r = sb.sjs_json({"job", "submit", "gated", "--sync", "--wait-timeout", "0.5"}, 20);
  const double took = seconds_since(t0);
  INFO(r.err);
  CHECK(r.exit_code == 6);
  CHECK(took < 3);
  auto j = r.json();
  CHECK(j["wait_timed_out"] == true);
  const std::string id = j["job"]["id"];
  CHECK((j["job"]["state"] == "RUNNING" || j["job"]["state"] == "QUEUED"));

  // Human form says the job goes on.
  auto h = sb.sjs({"job", "submit", "gated", "--sync", "--wait-timeout", "0.2"}, "", 20);
  CHECK(h.exit_code == 6);
  CHECK(h.err.find("still") != std::string::npos);

  REQUIRE(sb.wait_for_state(id, "RUNNING", 10));
  touch(gate);
  auto w = sb.sjs({"job", "wait", id}, "", 20);
  CHECK(w.exit_code == 0);
  CHECK(w.out == "done\n");
}

TEST_CASE("job wait of an ended job answers at once with its outcome, wait --timeout exits 6", "[jobs][wait]") {
  Sandbox sb(k_fast_grace_conf);
  const std::string gate = sb.dir() + "/gate";
  sb.upload_script("ok", "echo '{\"v\": 1}'");
  sb.upload_script("bad", "exit 3");
  sb.upload_script("gated", wait_for_file(gate));
  REQUIRE(sb.sjs({"job", "submit", "ok", "--sync"}).exit_code == 0);
  const std::string ok = newest_job(sb);
  REQUIRE(sb.sjs({"job", "submit", "bad", "--sync"}).exit_code == 1);
  const std::string bad = newest_job(sb);

  auto t0 = std::chrono::steady_clock::now();
  auto w = sb.sjs({"job", "wait", ok});
  CHECK(w.exit_code == 0);
  CHECK(w.json() == json{{"v", 1}});
  CHECK(sb.sjs({"job", "wait", bad}).exit_code == 1);
  CHECK(seconds_since(t0) < 2);

  const std::string id = sb.submit({"gated"});
  t0 = std::chrono::steady_clock::now();
  auto wt = sb.sjs({"job", "wait", id, "--timeout", "0.3"}, "", 20);
  const double took = seconds_since(t0);
  CHECK(wt.exit_code == 6);
  CHECK(took >= 0.25);
  CHECK(took < 3);
  CHECK(sb.job_json(id)["state"] != "KILLED");
  touch(gate);
  CHECK(sb.sjs({"job", "wait", id, "--timeout", "20"}, "", 30).exit_code == 0);
  CHECK(sb.sjs({"job", "wait", "00000000-0000-4000-8000-000000000000"}).exit_code == 7);
}

// ---- idempotency, queueing, priorities -------------------------------------------------

TEST_CASE("submit --key returns the first job's id for the same key and the job runs once", "[jobs][key]") {
  Sandbox sb(k_fast_grace_conf);
  const std::string gate = sb.dir() + "/gate", count = sb.dir() + "/count";
  sb.upload_script("once", "echo run >> '" + count + "'; " + wait_for_file(gate) + "; echo '\"ran\"'");
  const std::string first = sb.submit({"once", "--key", "K-1"});
  const std::string second = sb.submit({"once", "--key", "K-1"});
  CHECK(second == first);
  touch(gate);
  auto sync = sb.sjs_json({"job", "submit", "once", "--key", "K-1", "--sync"}, 20);
  INFO(sync.err);
  CHECK(sync.exit_code == 0);
  CHECK(sync.json()["job"]["id"] == first);
  CHECK(sync.json()["existing"] == true);
  CHECK(sync.json()["result"] == "ran");
  CHECK(sb.sjs({"job", "wait", first}).exit_code == 0);
  CHECK(sb.sjs({"job", "submit", "once", "--key", "K-1"}).out == first + "\n");

  auto lines = [&] {
    std::ifstream f(count);
    int n = 0;
    for (std::string line; std::getline(f, line);) ++n;
    return n;
  };
  CHECK(lines() == 1);
  // Another key is another job.
  auto other = sb.sjs({"job", "submit", "once", "--key", "K-2", "--sync"}, "", 20);
  CHECK(other.exit_code == 0);
  CHECK(newest_job(sb) != first);
  CHECK(lines() == 2);
}

TEST_CASE("a context with --max-jobs 2 runs at most 2 of 5 jobs at once and finishes all of them", "[jobs][queue]") {
  Sandbox sb(k_fast_grace_conf);
  sb.upload_script("nap", "sleep 0.3");
  REQUIRE(sb.sjs({"context", "create", "pair", "--max-jobs", "2"}).exit_code == 0);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(sb.submit({"nap", "--context", "pair"}));

  int max_running = 0, polls = 0;
  bool all_done = eventually(
      [&] {
        auto r = sb.sjs_json({"job", "list", "--context", "pair"});
        if (r.exit_code != 0) return false;
        int running = 0, finished = 0;
        const json list = r.json();  // keep it alive for the loop
        for (const auto& j : list["jobs"]) {
          if (j["state"] == "RUNNING") ++running;
          if (j["state"] == "FINISHED") ++finished;
        }
        max_running = std::max(max_running, running);
        ++polls;
        return finished == 5;
      },
      20);
  CHECK(all_done);
  CHECK(max_running <= 2);
  CHECK(max_running >= 1);
  INFO("polls: " << polls);

  // The recorded run intervals agree: at any job's start, at most 2 jobs (itself included) are running.
  std::vector<std::pair<std::int64_t, std::int64_t>> spans;
  for (const auto& id : ids) {
    auto st = sb.job_json(id);
    CHECK(st["state"] == "FINISHED");
    spans.emplace_back(st["started_ms"].get<std::int64_t>(), st["ended_ms"].get<std::int64_t>());
  }
  for (const auto& [start, end] : spans) {
    int overlapping = 0;
    for (const auto& [s2, e2] : spans) {
      if (s2 <= start && start < e2) ++overlapping;
    }
    CHECK(overlapping <= 2);
  }
  // And two did run together: the slots are used.
  int max_overlap = 0;
  for (const auto& [start, end] : spans) {
    int overlapping = 0;
    for (const auto& [s2, e2] : spans) {
      if (s2 <= start && start < e2) ++overlapping;
    }
    max_overlap = std::max(max_overlap, overlapping);
  }
  CHECK(max_overlap == 2);
}

TEST_CASE("with the only slot busy, a priority 10 job starts before earlier priority 0 jobs, FIFO within a priority",
          "[jobs][queue]") {
  Sandbox sb(k_fast_grace_conf);
  const std::string gate = sb.dir() + "/gate";
  sb.upload_script("blocker", wait_for_file(gate));
  sb.upload_script("quick", "echo quick");
  REQUIRE(sb.sjs({"context", "create", "solo", "--max-jobs", "1"}).exit_code == 0);
  const std::string blocker = sb.submit({"blocker", "--context", "solo"});
  REQUIRE(sb.wait_for_state(blocker, "RUNNING", 10));
  const std::string low_a = sb.submit({"quick", "--context", "solo", "--priority", "0"});
  const std::string high = sb.submit({"quick", "--context", "solo", "--priority", "10"});
  const std::string low_b = sb.submit({"quick", "--context", "solo"});
  CHECK(sb.job_json(high)["priority"] == 10);
  touch(gate);
  for (const auto& id : {blocker, low_a, high, low_b}) CHECK(sb.sjs({"job", "wait", id}, "", 20).exit_code == 0);

  auto started = [&](const std::string& id) { return sb.job_json(id)["started_ms"].get<std::int64_t>(); };
  auto ended = [&](const std::string& id) { return sb.job_json(id)["ended_ms"].get<std::int64_t>(); };
  // One slot: each starts after the one before it ended, so the start times give the order.
  CHECK(started(high) >= ended(blocker));
  CHECK(started(low_a) >= ended(high));
  CHECK(started(low_b) >= ended(low_a));
}

// ---- listings ---------------------------------------------------------------------------

TEST_CASE("job list: newest first, --limit, --state and --context filters, --json and a table", "[jobs][list]") {
  Sandbox sb(k_fast_grace_conf);
  sb.upload_script("ok", "echo ok");
  sb.upload_script("bad", "exit 3");
  REQUIRE(sb.sjs({"context", "create", "lc"}).exit_code == 0);
  REQUIRE(sb.sjs({"job", "submit", "ok", "--sync"}).exit_code == 0);
  const std::string a1 = newest_job(sb);
  REQUIRE(sb.sjs({"job", "submit", "ok", "--sync"}).exit_code == 0);
  const std::string a2 = newest_job(sb);
  REQUIRE(sb.sjs({"job", "submit", "bad", "--sync"}).exit_code == 1);
  const std::string e1 = newest_job(sb);
  REQUIRE(sb.sjs({"job", "submit", "ok", "--context", "lc", "--sync"}).exit_code == 0);
  const std::string c1 = newest_job(sb);
  REQUIRE(std::set<std::string>{a1, a2, e1, c1}.size() == 4);

  auto all = sb.sjs_json({"job", "list"});
  REQUIRE(all.exit_code == 0);
  CHECK(ids_of(all.json()) == std::vector<std::string>{c1, e1, a2, a1});
  auto seqs = all.json()["jobs"];
  for (std::size_t i = 1; i < seqs.size(); ++i) CHECK(seqs[i - 1]["seq"] > seqs[i]["seq"]);

  CHECK(ids_of(sb.sjs_json({"job", "list", "--limit", "2"}).json()) == std::vector<std::string>{c1, e1});
  CHECK(ids_of(sb.sjs_json({"job", "list", "-n", "1"}).json()) == std::vector<std::string>{c1});

  auto fin = sb.sjs_json({"job", "list", "--state", "FINISHED"}).json();
  CHECK(ids_of(fin) == std::vector<std::string>{c1, a2, a1});
  for (const auto& j : fin["jobs"]) CHECK(j["state"] == "FINISHED");
  CHECK(ids_of(sb.sjs_json({"job", "list", "--state", "error"}).json()) == std::vector<std::string>{e1});
  CHECK(ids_of(sb.sjs_json({"job", "list", "--state", "KILLED"}).json()).empty());

  auto in_ctx = sb.sjs_json({"job", "list", "--context", "lc"}).json();
  CHECK(ids_of(in_ctx) == std::vector<std::string>{c1});
  CHECK(in_ctx["jobs"][0]["context"] == "lc");
  CHECK(ids_of(sb.sjs_json({"job", "list", "--context", "lc", "--state", "ERROR"}).json()).empty());

  auto table = sb.sjs({"job", "list"});
  REQUIRE(table.exit_code == 0);
  CHECK(table.out.rfind("ID", 0) == 0);
  const auto p_c1 = table.out.find(c1), p_e1 = table.out.find(e1), p_a2 = table.out.find(a2),
             p_a1 = table.out.find(a1);
  REQUIRE(p_a1 != std::string::npos);
  CHECK(p_c1 < p_e1);
  CHECK(p_e1 < p_a2);
  CHECK(p_a2 < p_a1);
}

// ---- many clients -----------------------------------------------------------------------

TEST_CASE("20 concurrent sjs job submit --sync clients each get their own job's result", "[jobs][concurrency]") {
  Sandbox sb(k_fast_grace_conf);
  sb.upload_script("echoconf", "cat \"$SJS_CONFIG\"");
  constexpr int k_clients = 20;
  std::vector<RunResult> results(k_clients);
  std::vector<std::thread> threads;
  for (int i = 0; i < k_clients; ++i) {
    threads.emplace_back([&, i] {
      results[i] = sb.sjs({"--json", "job", "submit", "echoconf", "--sync", "--conf", "n=" + std::to_string(i)}, "", 60);
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> ids;
  for (int i = 0; i < k_clients; ++i) {
    INFO("client " << i << ": " << results[i].err);
    REQUIRE(results[i].exit_code == 0);
    auto j = results[i].json();
    CHECK(j["job"]["state"] == "FINISHED");
    CHECK(j["result"] == json{{"n", i}});
    ids.insert(j["job"]["id"].get<std::string>());
  }
  CHECK(ids.size() == static_cast<std::size_t>(k_clients));
  CHECK(sb.sjs_json({"job", "list", "--state", "FINISHED"}).json()["jobs"].size() == k_clients);
}

namespace {

// A process's memory figure from /proc/PID/status ("VmRSS", "VmHWM"), in KiB; -1 if absent.
long status_kib(int pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

}  // namespace

TEST_CASE("a job that floods stdout: its log keeps logs.max-bytes-per-job with markers saying how much was dropped, "
          "the job runs to the end and sjsd's memory stays flat",
          "[jobs][logs]") {
  Sandbox sb("logs.max-bytes-per-job = 1000000\n");
  sb.start_daemon();
  // 200 MB of output in 64 KiB writes, then a last line that must not block behind it.
  sb.upload_script("flood", "head -c 200000000 /dev/zero | tr '\\0' x\necho; echo done >&2\necho '\"ok\"' > \"$SJS_RESULT\"");
  const int pid = sb.daemon_pid();
  REQUIRE(pid > 0);
  const long rss_before = status_kib(pid, "VmRSS");
  auto r = sb.sjs_json({"job", "submit", "flood", "--sync"}, 120);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json j = r.json();
  CHECK(j["result"] == "ok");
  const std::string log = sb.sjs({"job", "log", j["job"]["id"]}).out;
  CHECK(log.size() < 1000000 + 1000);
  CHECK(log.compare(0, 1000, std::string(1000, 'x')) == 0);
  CHECK(log.find("reached logs.max-bytes-per-job (1000000 bytes)") != std::string::npos);
  // The job wrote 200,000,001 bytes to stdout and 5 to stderr: all but the first 1,000,000 dropped.
  CHECK(log.find("[sjs: 199000006 bytes of the job's output were dropped (200000006 written, 1000000 kept)]") !=
        std::string::npos);
  // sjsd streamed the flood: its peak memory is not the flood's size.
  const long peak = status_kib(pid, "VmHWM");
  INFO("sjsd RSS before " << rss_before << " KiB, peak " << peak << " KiB");
  CHECK(peak - rss_before < 64 * 1024);
}

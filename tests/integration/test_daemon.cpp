// The daemon's lifecycle: autostart, start/stop/status/restart, one daemon per
// data dir, socket permissions, graceful shutdown, crash recovery, durability of
// acknowledged submissions, and retention. Real sjsd, real sjs.
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <future>
#include <set>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.hpp"
#include "sjs/client.hpp"
#include "sjs/messages.hpp"

using namespace sjs::test;
using nlohmann::json;

namespace {

// Live sjsd processes whose command line names `home` (the CLI starts sjsd with --data-dir HOME).
int count_daemons_for(const std::string& home) {
  int n = 0;
  for (int pid : all_pids()) {
    auto argv = split_nul(read_all("/proc/" + std::to_string(pid) + "/cmdline"));
    if (argv.empty() || std::filesystem::path(argv[0]).filename() != "sjsd") continue;
    for (const auto& a : argv) {
      if (a.find(home) != std::string::npos) {
        ++n;
        break;
      }
    }
  }
  return n;
}

bool alive(int pid) { return pid > 0 && !process_exited(pid); }

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// sjsd run by the test itself in the foreground (SJS_HOME = the sandbox), so its
// exit status can be seen. The destructor stops it if the test did not.
class ForegroundDaemon {
 public:
  explicit ForegroundDaemon(const Sandbox& sb) : m_sb(sb) {
    m_result = std::async(std::launch::async, [home = sb.home()] {
      return run_process({k_sjsd, "--foreground"}, {{"SJS_HOME", home}}, "", 120);
    });
    bool up = eventually([&] { return m_sb.sjs({"--no-autostart", "daemon", "status"}).exit_code == 0; }, 20);
    if (!up) {
      if (int pid = m_sb.daemon_pid(); pid > 0) ::kill(pid, SIGKILL);
      throw std::runtime_error("sjsd --foreground did not come up: " + wait(10).err);
    }
    m_pid = m_sb.daemon_pid();
  }
  ~ForegroundDaemon() {
    if (!m_result.valid()) return;
    if (m_pid > 0 && !process_exited(m_pid)) ::kill(m_pid, SIGKILL);
    m_result.wait();
  }
  int pid() const { return m_pid; }
  // Waits for sjsd to exit (it is killed past `timeout_s`) and returns what it did.
  RunResult wait(double timeout_s = 30) {
    if (m_result.wait_for(std::chrono::milliseconds(static_cast<long>(timeout_s * 1000))) !=
            std::future_status::ready &&
        m_pid > 0) {
      ::kill(m_pid, SIGKILL);
    }
    return m_result.get();
  }

 private:
  const Sandbox& m_sb;
  std::future<RunResult> m_result;
  int m_pid = 0;
};

// Settings that keep the sandbox's teardown quick when a job still runs at the end.
const std::string k_quick_stop = "shutdown.grace-seconds = 0.3\nkill.grace-seconds = 0.3\n";

}  // namespace

// ---- autostart ---------------------------------------------------------------------

TEST_CASE("the first sjs command on a fresh data dir starts sjsd, later commands use it", "[daemon]") {
  Sandbox sb;
  REQUIRE(sb.daemon_pid() == 0);
  auto r = sb.sjs({"binary", "list"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("started sjsd") != std::string::npos);
  const int pid = sb.daemon_pid();
  REQUIRE(pid > 0);
  CHECK(alive(pid));

  auto again = sb.sjs({"binary", "list"});
  CHECK(again.exit_code == 0);
  CHECK(again.err.find("started sjsd") == std::string::npos);
  CHECK(sb.daemon_pid() == pid);
}

TEST_CASE("with --no-autostart or SJS_NO_AUTOSTART=1 and no daemon, commands exit 10 and say to run sjs daemon start",
          "[daemon]") {
  Sandbox sb;
  auto flag = sb.sjs({"--no-autostart", "binary", "list"});
  CHECK(flag.exit_code == 10);
  CHECK(flag.err.find("sjs daemon start") != std::string::npos);

  auto flag_job = sb.sjs({"--no-autostart", "job", "status", "some-id"});
  CHECK(flag_job.exit_code == 10);

  auto env = run_process({k_sjs, "binary", "list"}, {{"SJS_HOME", sb.home()}, {"SJS_NO_AUTOSTART", "1"}});
  CHECK(env.exit_code == 10);
  CHECK(env.err.find("sjs daemon start") != std::string::npos);

  // Nothing was started behind our back.
  CHECK(sb.daemon_pid() == 0);
  CHECK(!std::filesystem::exists(sb.socket()));
  CHECK(count_daemons_for(sb.home()) == 0);
}

TEST_CASE("four clients autostarting at the same moment end up with exactly one sjsd", "[daemon]") {
  Sandbox sb;
  constexpr int k_clients = 4;
  std::vector<RunResult> results(k_clients);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < k_clients; ++i) {
    threads.emplace_back([&, i] {
      ++ready;
      while (ready.load() < k_clients) std::this_thread::yield();
      results[static_cast<std::size_t>(i)] = sb.sjs({"binary", "list"});
    });
  }
  for (auto& t : threads) t.join();

  int starters = 0;
  for (const auto& r : results) {
    INFO(r.err);
    CHECK(r.exit_code == 0);
    if (r.err.find("started sjsd") != std::string::npos) ++starters;
  }
  CHECK(starters == 1);
  const int pid = sb.daemon_pid();
  REQUIRE(pid > 0);
  CHECK(alive(pid));
  CHECK(eventually([&] { return count_daemons_for(sb.home()) == 1; }, 5));
  // And it is the one that answers.
  auto st = sb.sjs_json({"daemon", "status"});
  REQUIRE(st.exit_code == 0);
  CHECK(st.json()["pid"] == pid);
}

// ---- sjs daemon start|stop|status|restart --------------------------------------------

TEST_CASE("daemon start is idempotent, status shows the pid, stop waits for the exit, restart gives a new pid",
          "[daemon]") {
  Sandbox sb;
  auto first = sb.sjs({"daemon", "start"});
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  const int pid = sb.daemon_pid();
  REQUIRE(alive(pid));

  auto second = sb.sjs({"daemon", "start"});
  CHECK(second.exit_code == 0);
  CHECK(second.err.find("already running") != std::string::npos);
  CHECK(second.err.find(std::to_string(pid)) != std::string::npos);
  CHECK(sb.daemon_pid() == pid);
  CHECK(count_daemons_for(sb.home()) == 1);

  auto status = sb.sjs_json({"daemon", "status"});
  REQUIRE(status.exit_code == 0);
  CHECK(status.json()["pid"] == pid);
  CHECK(status.json()["running"] == true);
  auto human = sb.sjs({"daemon", "status"});
  CHECK(human.exit_code == 0);
  CHECK(human.out.find(std::to_string(pid)) != std::string::npos);

  auto stop = sb.sjs({"daemon", "stop"});
  INFO(stop.err);
  CHECK(stop.exit_code == 0);
  CHECK(process_exited(pid));  // at once: stop returned only after the process was gone
  auto down = sb.sjs({"daemon", "status"});
  CHECK(down.exit_code == 10);
  CHECK(down.out.find("not running") != std::string::npos);

  auto stop_again = sb.sjs({"daemon", "stop"});
  CHECK(stop_again.exit_code == 0);
  CHECK(stop_again.err.find("not running") != std::string::npos);

  REQUIRE(sb.sjs({"daemon", "start"}).exit_code == 0);
  const int pid2 = sb.daemon_pid();
  REQUIRE(alive(pid2));
  auto restart = sb.sjs({"daemon", "restart"});
  INFO(restart.err);
  REQUIRE(restart.exit_code == 0);
  const int pid3 = sb.daemon_pid();
  CHECK(pid3 != pid2);
  CHECK(alive(pid3));
  CHECK(process_exited(pid2));
  auto after = sb.sjs_json({"daemon", "status"});
  REQUIRE(after.exit_code == 0);
  CHECK(after.json()["pid"] == pid3);
}

TEST_CASE("a second sjsd on the same data dir is refused with exit 9 naming the running one's pid", "[daemon]") {
  Sandbox sb;
  sb.upload_script("keep", "echo kept");
  const int pid = sb.daemon_pid();
  REQUIRE(alive(pid));

  auto r = run_process({k_sjsd, "--foreground", "--data-dir", sb.home()}, {}, "", 20);
  CHECK(r.exit_code == 9);
  CHECK(r.err.find("pid " + std::to_string(pid)) != std::string::npos);

  // The refused one took nothing from the running one: same daemon, socket still answers.
  CHECK(sb.daemon_pid() == pid);
  CHECK(alive(pid));
  auto list = sb.sjs({"--no-autostart", "binary", "list"});
  CHECK(list.exit_code == 0);
  CHECK(list.out.find("keep") != std::string::npos);
}

TEST_CASE("the socket is mode 0600 and a socket directory sjsd creates is 0700, whatever the umask", "[daemon]") {
  Sandbox sb;
  REQUIRE(sb.sjs({"binary", "list"}).exit_code == 0);
  struct stat st {};
  REQUIRE(::stat(sb.socket().c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 07777) == 0600);
  REQUIRE(sb.sjs({"daemon", "stop"}).exit_code == 0);

  // sjsd itself, told to listen in a directory that does not exist yet, under umask 0.
  const std::string sock_dir = sb.dir() + "/rt/sjs";
  const std::string sock = sock_dir + "/sjsd.sock";
  const mode_t old = ::umask(0);
  auto started = run_process({k_sjsd, "--data-dir", sb.home(), "--socket", sock}, {}, "", 20);
  ::umask(old);
  INFO(started.err);
  REQUIRE(started.exit_code == 0);
  REQUIRE(::stat(sock_dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);
  REQUIRE(::stat(sock.c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 07777) == 0600);
  auto via = run_process({k_sjs, "--no-autostart", "binary", "list"}, {{"SJS_SOCKET", sock}});
  CHECK(via.exit_code == 0);
}

// ---- SIGTERM -------------------------------------------------------------------

TEST_CASE("on SIGTERM sjsd lets a running job finish within shutdown.grace-seconds, then exits 0", "[daemon]") {
  Sandbox sb("shutdown.grace-seconds = 5\n");
  ForegroundDaemon daemon(sb);
  const std::string nap = sb.write_file("nap.sh", "#!/bin/sh\nsleep 1\necho '{\"slept\": 1}'\n", 0755);
  auto up = sb.sjs({"--no-autostart", "binary", "upload", "nap", nap});
  INFO(up.err);
  REQUIRE(up.exit_code == 0);
  const std::string id = sb.submit({"nap"}, true);
  REQUIRE(sb.wait_for_state(id, "RUNNING", 10));

  const auto sent = std::chrono::steady_clock::now();
  REQUIRE(::kill(daemon.pid(), SIGTERM) == 0);
  RunResult exited = daemon.wait(20);
  const double took = seconds_since(sent);
  INFO("sjsd stderr: " << exited.err);
  CHECK(exited.exit_code == 0);
  CHECK(took < 5);  // it waited for the job, not for the whole grace period

  auto j = sb.job_json(id);  // autostarts a new daemon over the same data dir
  CHECK(j["state"] == "FINISHED");
  CHECK(j["end_reason"] == "");
  CHECK(j["exit_status"] == 0);
  auto res = sb.sjs_json({"job", "result", id});
  CHECK(res.exit_code == 0);
  CHECK(res.json()["result"] == json{{"slept", 1}});
}

TEST_CASE("on SIGTERM past the grace period a running job is KILLED (shutdown) and queued jobs stay queued for the next "
          "start",
          "[daemon]") {
  Sandbox sb("shutdown.grace-seconds = 0.5\nkill.grace-seconds = 0.5\n");
  sb.upload_script("sleeper", "sleep 30");
  sb.upload_script("quick", "echo quick");
  REQUIRE(sb.sjs({"context", "create", "one", "--max-jobs", "1"}).exit_code == 0);
  const std::string running = sb.submit({"sleeper", "-c", "one"});
  REQUIRE(sb.wait_for_state(running, "RUNNING", 10));
  const std::string queued1 = sb.submit({"quick", "-c", "one"});
  const std::string queued2 = sb.submit({"quick", "-c", "one"});
  CHECK(sb.job_json(queued1)["state"] == "QUEUED");
  CHECK(sb.job_json(queued2)["state"] == "QUEUED");

  const int pid = sb.daemon_pid();
  const auto sent = std::chrono::steady_clock::now();
  const std::int64_t sent_ms = wall_ms();
  REQUIRE(::kill(pid, SIGTERM) == 0);
  REQUIRE(Sandbox::wait_gone(pid, 15));
  const double took = seconds_since(sent);
  CHECK(took < 5);  // grace 0.5 s, then SIGTERM to the job (which dies of it)
  CHECK(eventually([&] { return job_processes(running).empty(); }, 5));

  auto killed = sb.job_json(running);  // autostart
  CHECK(killed["state"] == "KILLED");
  CHECK(killed["end_reason"] == "shutdown");
  auto outcome = sb.sjs({"job", "result", running});
  CHECK(outcome.exit_code == 4);

  // The queued ones were not run (nor dropped) during the shutdown: they run now.
  for (const auto& id : {queued1, queued2}) {
    REQUIRE(sb.wait_for_state(id, "FINISHED", 15));
    auto j = sb.job_json(id);
    CHECK(j["started_ms"].get<std::int64_t>() >= sent_ms);
  }
}

// ---- crash recovery and durability ------------------------------------------------

TEST_CASE("after sjsd is SIGKILLed, its running job is ERROR (daemon_restart), its orphan is killed, queued jobs run",
          "[daemon]") {
  Sandbox sb(k_quick_stop);
  sb.upload_script("sleeper", "sleep 30");
  sb.upload_script("quick", "echo '{\"ok\": true}'");
  REQUIRE(sb.sjs({"context", "create", "solo", "--max-jobs", "1"}).exit_code == 0);
  const std::string running = sb.submit({"sleeper", "-c", "solo"});
  REQUIRE(sb.wait_for_state(running, "RUNNING", 10));
  REQUIRE(eventually([&] { return !job_processes(running).empty(); }, 5));
  // Acknowledged after the commit that also holds the first job's RUNNING state.
  const std::string queued1 = sb.submit({"quick", "-c", "solo"});
  const std::string queued2 = sb.submit({"quick", "-c", "solo"});

  sb.kill_daemon();
  // The job's processes outlive the daemon that started them.
  const auto orphans = job_processes(running);
  REQUIRE(!orphans.empty());

  auto crashed = sb.job_json(running);  // autostarts sjsd
  CHECK(crashed["state"] == "ERROR");
  CHECK(crashed["end_reason"] == "daemon_restart");
  CHECK(crashed["error"]["message"] == "daemon restarted while the job was running");
  CHECK(sb.sjs({"job", "result", running}).exit_code == 1);

  for (const auto& id : {queued1, queued2}) {
    INFO(id);
    REQUIRE(sb.wait_for_state(id, "FINISHED", 15));
    auto res = sb.sjs_json({"job", "result", id});
    CHECK(res.exit_code == 0);
    CHECK(res.json()["result"] == json{{"ok", true}});
  }
  CHECK(eventually([&] { return job_processes(running).empty(); }, 5));
  for (int pid : orphans) CHECK(process_exited(pid));
}

TEST_CASE("a worker killed with jobs queued: its running job ends ERROR (sjs.ContextDied), the queued ones wait for "
          "the restart and run (found by tests/torture: they ended ERROR sjs.ContextNotRunning)",
          "[daemon][python]") {
  Sandbox sb(k_quick_stop);
  const std::string py =
      sb.write_file("nap.py", "def nap(ctx, config):\n    ctx.sleep(float(config.get(\"s\", 0.1)))\n    return \"ok\"\n");
  REQUIRE(sb.sjs({"binary", "upload", "nap", py}).exit_code == 0);
  auto created = sb.sjs({"context", "create", "solo", "--runtime", "python", "--max-jobs", "1"}, "", 60);
  INFO(created.err);
  REQUIRE(created.exit_code == 0);
  const std::string running = sb.submit({"nap", "nap", "-c", "solo", "--conf", "s=30"});
  const std::string queued1 = sb.submit({"nap", "nap", "-c", "solo"});
  const std::string queued2 = sb.submit({"nap", "nap", "-c", "solo"});
  REQUIRE(sb.wait_for_state(running, "RUNNING"));
  const int worker = sb.job_json(running)["pid"].get<int>();
  REQUIRE(worker > 0);
  ::kill(worker, SIGKILL);
  REQUIRE(sb.wait_for_state(running, "ERROR"));
  CHECK(sb.job_json(running)["error"]["errorClass"] == "sjs.ContextDied");
  for (const auto& id : {queued1, queued2}) {
    INFO(id << ": " << sb.job_json(id).dump());
    CHECK(sb.wait_for_state(id, "FINISHED", 60));
  }
}

TEST_CASE("every acknowledged submission survives a SIGKILL right after the last acknowledgement", "[daemon]") {
  Sandbox sb(k_quick_stop);
  sb.upload_script("sleeper", "sleep 30");
  REQUIRE(sb.sjs({"context", "create", "slow", "--max-jobs", "1"}).exit_code == 0);

  constexpr int k_jobs = 200;
  std::vector<std::string> ids;
  {
    sjs::Client client(sb.socket());
    client.hello("sjs integration test");
    sjs::JobSubmitArgs args;
    args.binary = "sleeper";
    args.context = "slow";
    for (int i = 0; i < k_jobs; ++i) client.send(sjs::op::k_job_submit, args);
    for (int i = 0; i < k_jobs; ++i) {
      json envelope = client.receive();
      sjs::Client::throw_if_error(envelope);
      ids.push_back(envelope["result"]["job"]["id"].get<std::string>());
    }
    sb.kill_daemon();
  }
  REQUIRE(std::set<std::string>(ids.begin(), ids.end()).size() == k_jobs);

  auto list = sb.sjs_json({"job", "list", "--limit", "1000"});  // autostarts sjsd
  INFO(list.err);
  REQUIRE(list.exit_code == 0);
  std::set<std::string> stored;
  const json stored_jobs = list.json()["jobs"];
  for (const auto& j : stored_jobs) stored.insert(j["id"].get<std::string>());
  std::vector<std::string> missing;
  for (const auto& id : ids) {
    if (!stored.count(id)) missing.push_back(id);
  }
  INFO("missing: " << missing.size());
  CHECK(missing.empty());
  // Spot checks through job status too: the last acknowledged and the first.
  CHECK(sb.sjs({"job", "status", ids.back()}).exit_code == 0);
  CHECK(sb.sjs({"job", "status", ids.front()}).exit_code == 0);
}

TEST_CASE("a job runs at most once: one that SIGKILLs sjsd as it starts is ERROR (daemon_restart) after the restart "
          "and does not run again (found by tests/torture: left QUEUED, it ran a second time)",
          "[daemon]") {
  Sandbox sb(k_quick_stop);
  const std::string go = sb.dir() + "/go", marks = sb.dir() + "/marks", once = sb.dir() + "/once";
  sb.upload_script("blocker", wait_for_file(go));
  // The job's parent is sjsd: it dies in the window between the job's start and the commit that follows.
  sb.upload_script("suicide", "echo \"$SJS_JOB_ID\" >> '" + marks + "'\n[ -e '" + once + "' ] || { touch '" + once +
                                  "'; kill -9 $PPID; }\nsleep 0.2");
  REQUIRE(sb.sjs({"context", "create", "solo", "--max-jobs", "1"}).exit_code == 0);
  sb.submit({"blocker", "-c", "solo"});
  const std::string id = sb.submit({"suicide", "-c", "solo"});  // queued behind the blocker, answered
  const int pid = sb.daemon_pid();
  touch(go);  // the blocker ends, the suicide job starts at once and kills sjsd
  REQUIRE(Sandbox::wait_gone(pid, 10));
  json j;
  REQUIRE(eventually(
      [&] {
        j = sb.job_json(id);  // autostarts sjsd
        return j["state"] != "QUEUED" && j["state"] != "RUNNING";
      },
      15));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // a second run would have marked by now
  CHECK(j["state"] == "ERROR");
  CHECK(j["end_reason"] == "daemon_restart");
  CHECK(lines_of(trim(read_all(marks))).size() == 1);
}

// ---- retention -----------------------------------------------------------------------

TEST_CASE("retention.max-jobs keeps only the newest finished jobs and deletes the others' logs", "[daemon]") {
  Sandbox sb("retention.max-jobs = 3\nretention.interval-seconds = 0.2\n");
  sb.upload_script("quick", "echo \"line from $SJS_JOB_ID\"");
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    auto r = sb.sjs_json({"job", "submit", "quick", "--sync"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    ids.push_back(r.json()["job"]["id"].get<std::string>());
  }
  auto log_of = [&](const std::string& id) { return sb.home() + "/logs/" + id + ".log"; };

  const std::vector<std::string> oldest(ids.begin(), ids.begin() + 3), newest(ids.begin() + 3, ids.end());
  CHECK(eventually(
      [&] {
        for (const auto& id : oldest) {
          if (sb.sjs({"job", "status", id}).exit_code != 7) return false;
        }
        return true;
      },
      10));
  for (const auto& id : oldest) {
    auto r = sb.sjs({"job", "status", id});
    CHECK(r.exit_code == 7);
    CHECK(!std::filesystem::exists(log_of(id)));
  }
  for (const auto& id : newest) {
    auto j = sb.job_json(id);
    CHECK(j["state"] == "FINISHED");
    CHECK(std::filesystem::exists(log_of(id)));
    auto log = sb.sjs({"job", "log", id});
    CHECK(log.out.find("line from " + id) != std::string::npos);
  }
  auto list = sb.sjs_json({"job", "list"});
  REQUIRE(list.exit_code == 0);
  std::set<std::string> listed;
  const json listed_jobs = list.json()["jobs"];
  for (const auto& j : listed_jobs) listed.insert(j["id"].get<std::string>());
  CHECK(listed == std::set<std::string>(newest.begin(), newest.end()));
}

TEST_CASE("retention.max-age-days removes finished jobs once they are older than it", "[daemon]") {
  // 0.00002 days is 1.7 s: long enough to see the job first, short enough to watch it go.
  Sandbox sb("retention.max-age-days = 0.00002\nretention.interval-seconds = 0.2\n");
  sb.upload_script("quick", "echo hi");
  auto r = sb.sjs_json({"job", "submit", "quick", "--sync"});
  REQUIRE(r.exit_code == 0);
  const std::string id = r.json()["job"]["id"].get<std::string>();
  CHECK(sb.sjs({"job", "status", id}).exit_code == 0);
  CHECK(eventually([&] { return sb.sjs({"job", "status", id}).exit_code == 7; }, 15));
  CHECK(!std::filesystem::exists(sb.home() + "/logs/" + id + ".log"));
  CHECK(sb.sjs({"binary", "list"}).out.find("quick") != std::string::npos);  // binaries are not subject to it
}

TEST_CASE("sjs daemon start --http serves the HTTP API, status shows its URL and sjsd.url holds it", "[daemon]") {
  Sandbox sb;
  auto r = sb.sjs({"daemon", "start", "--http", "127.0.0.1:0"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("HTTP on http://127.0.0.1:") != std::string::npos);
  auto st = sb.sjs_json({"daemon", "status"});
  REQUIRE(st.exit_code == 0);
  const std::string url = st.json().value("http_url", "");
  REQUIRE(url.rfind("http://127.0.0.1:", 0) == 0);
  CHECK(trim(sjs::test::read_all(sb.home() + "/sjsd.url")) == url);
  auto curl = run_process({"/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url + "/healthz"});
  CHECK(curl.out == "200");

  // Without --http the daemon serves no HTTP, and status says so.
  Sandbox plain;
  plain.start_daemon();
  auto st2 = plain.sjs_json({"daemon", "status"});
  REQUIRE(st2.exit_code == 0);
  CHECK(st2.json().value("http_url", "x").empty());
  CHECK(::access((plain.home() + "/sjsd.url").c_str(), F_OK) != 0);
}

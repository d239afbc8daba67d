// Resource faults (docs/reliability.md): a full disk under the data dir, a full LMDB map, and
// per-context limits (limits.memory, limits.processes, limits.open-files) against jobs that fork
// without end or eat memory. A real sjsd in a temp dir; the disk is a small tmpfs (root only).
#include <csignal>
#include <sys/mount.h>
#include <unistd.h>

#include <fstream>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace sjs::test;
using json = nlohmann::json;

namespace {


// A tmpfs of `size` over the sandbox's data dir (its sjsd.conf kept), unmounted when this goes.
// Without root there is none: the test says SKIP and ends.
class SmallDisk {
 public:
  SmallDisk(const Sandbox& sb, const std::string& size) : m_dir(sb.home()) {
    const std::string conf = read_all(m_dir + "/sjsd.conf");
    if (::geteuid() != 0) return;
    const std::string opts = "size=" + size + ",mode=0700";
    if (::mount("tmpfs", m_dir.c_str(), "tmpfs", 0, opts.c_str()) != 0) return;
    m_mounted = true;
    std::ofstream(m_dir + "/sjsd.conf") << conf;
  }
  ~SmallDisk() {
    if (m_mounted) ::umount2(m_dir.c_str(), MNT_DETACH);
  }
  bool mounted() const { return m_mounted; }
  // Fills the disk to the last byte; returns the filler's path.
  std::string fill() const {
    const std::string filler = m_dir + "/filler";
    run_process({"/bin/sh", "-c", "dd if=/dev/zero of='" + filler + "' bs=64k 2>/dev/null; true"});
    return filler;
  }

 private:
  std::string m_dir;
  bool m_mounted = false;
};

std::string http_url(const Sandbox& sb) { return trim(read_all(sb.home() + "/sjsd.url")); }

// POSTs `body` with curl; returns the HTTP status (0 if curl failed) and the body in `out`.
int curl_post(const Sandbox& sb, const std::string& target, const std::string& body, std::string* out = nullptr) {
  const std::string in = sb.write_file("curl.in", body);
  auto r = run_process({"/usr/bin/curl", "-sS", "-o", sb.dir() + "/curl.out", "-w", "%{http_code}", "--data-binary",
                        "@" + in, "-H", "Content-Type:", http_url(sb) + target});
  if (out) *out = read_all(sb.dir() + "/curl.out");
  return r.exit_code == 0 ? std::stoi(r.out) : 0;
}

}  // namespace

TEST_CASE("storage full: with the disk under the data dir full, submissions and uploads are refused with "
          "storage_full (exit 14, HTTP 507), reads work, a running job still ends, and sjsd recovers by itself "
          "when space returns",
          "[resources][storage]") {
  Sandbox sb(std::string(k_fast_grace_conf) + "http.listen = \"127.0.0.1:0\"\n");
  SmallDisk disk(sb, "32m");
  if (!disk.mounted()) {
    WARN("SKIP: mounting a tmpfs needs root; the disk-full test did not run");
    return;
  }
  sb.start_daemon();
  const int pid = sb.daemon_pid();
  sb.upload_script("ok", "echo '\"ok\"'");
  const std::string gate = sb.dir() + "/gate";  // outside the small disk
  sb.upload_script("slow", wait_for_file(gate) + "\nhead -c 100000 /dev/zero | tr '\\0' y\necho '\"slow done\"'");
  auto first = sb.sjs_json({"job", "submit", "ok", "--sync"});
  REQUIRE(first.exit_code == 0);
  const std::string old_id = first.json()["job"]["id"];
  const std::string running = sb.submit({"slow"});
  REQUIRE(sb.wait_for_state(running, "RUNNING"));

  const std::string filler = disk.fill();
  // Submissions: the CLI and HTTP.
  auto r = sb.sjs({"job", "submit", "ok"});
  INFO(r.err);
  CHECK(r.exit_code == 14);
  CHECK(contains(r.err, "storage full"));
  CHECK(contains(r.err, "free space"));
  std::string body;
  CHECK(curl_post(sb, "/sjs/v1/job.submit", R"({"binary":"ok"})", &body) == 507);
  CHECK(contains(body, "storage_full"));
  // Uploads: the CLI, HTTP (streamed to a file), a data file.
  const std::string script = sb.write_file("new.sh", "#!/bin/sh\necho hi\n", 0755);
  r = sb.sjs({"binary", "upload", "new", script});
  CHECK(r.exit_code == 14);
  CHECK(contains(r.err, "storage full"));
  CHECK(curl_post(sb, "/binaries/new2", std::string(200000, 'x')) == 507);
  CHECK(curl_post(sb, "/data/some", std::string(100000, 'd')) == 507);
  // Reads go on.
  r = sb.sjs_json({"job", "list"});
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.out, old_id));
  CHECK(contains(r.out, running));
  CHECK(sb.job_json(old_id)["state"] == "FINISHED");
  CHECK(sb.sjs({"job", "log", old_id}).exit_code == 0);
  CHECK(sb.sjs({"binary", "list"}).exit_code == 0);
  // The running job prints onto the full disk and ends: sjsd neither crashes nor stalls.
  touch(gate);
  const bool ended = eventually([&] { return sb.job_json(running)["state"] == "FINISHED"; }, 20);
  INFO("the running job: " << sb.job_json(running).dump());
  CHECK(ended);

  // Space returns: no restart needed.
  ::unlink(filler.c_str());
  auto again = sb.sjs_json({"job", "submit", "ok", "--sync"});
  INFO(again.err);
  CHECK(again.exit_code == 0);
  CHECK(sb.sjs({"binary", "upload", "new", script}).exit_code == 0);
  CHECK(curl_post(sb, "/sjs/v1/job.submit", R"({"binary":"ok"})") == 200);
  CHECK(sb.daemon_pid() == pid);
  CHECK(::kill(pid, 0) == 0);
  CHECK(sb.job_json(old_id)["state"] == "FINISHED");
  CHECK(sb.job_json(running)["state"] == "FINISHED");
  sb.sjs({"daemon", "stop"});
}

TEST_CASE("storage full: a full LMDB map (store.map-size-mb) refuses submissions with storage_full naming the "
          "setting: every acknowledged job survives, a job that ended meanwhile is not left RUNNING, and a larger "
          "map takes new jobs",
          "[resources][storage]") {
  Sandbox sb(std::string(k_fast_grace_conf) + "store.map-size-mb = 1\nhttp.listen = \"127.0.0.1:0\"\n");
  sb.start_daemon();
  sb.upload_script("ok", "echo '\"ok\"'");
  const std::string gate = sb.dir() + "/gate";
  sb.upload_script("slow", wait_for_file(gate) + "\necho '\"slow done\"'");
  const std::string running = sb.submit({"slow"});
  REQUIRE(sb.wait_for_state(running, "RUNNING"));
  // Jobs with 8 KiB configs until the map is full; none of them runs (no context takes them: they queue on a
  // context whose single slot the gate holds).
  REQUIRE(sb.sjs({"context", "create", "hold", "--runtime", "exec", "--max-jobs", "1"}).exit_code == 0);
  const std::string holder = sb.submit({"slow", "--context", "hold"});
  const std::string pad(8192, 'p');
  std::vector<std::string> acknowledged;
  RunResult r;
  for (int i = 0; i < 400; ++i) {
    r = sb.sjs({"job", "submit", "ok", "--context", "hold", "--parsable", "--conf", "pad=" + pad});
    if (r.exit_code != 0) break;
    acknowledged.push_back(trim(r.out));
  }
  INFO(r.err);
  REQUIRE(r.exit_code == 14);
  CHECK(acknowledged.size() > 10);
  CHECK(contains(r.err, "store.map-size-mb"));
  const json big = {{"binary", "ok"}, {"context", "hold"}, {"config", {{"pad", pad}}}};
  std::string body;
  CHECK(curl_post(sb, "/sjs/v1/job.submit", big.dump(), &body) == 507);
  CHECK(contains(body, "storage_full"));
  // Reads go on.
  CHECK(sb.job_json(acknowledged.front())["state"] == "QUEUED");
  CHECK(sb.sjs({"job", "list"}).exit_code == 0);
  // The running job ends while its end cannot be written: sjsd keeps trying, then stops (the end is
  // recorded at the next start).
  touch(gate);
  ::usleep(1500 * 1000);
  const int pid = sb.daemon_pid();
  CHECK(::kill(pid, 0) == 0);
  REQUIRE(sb.sjs({"daemon", "stop"}).exit_code == 0);
  REQUIRE(Sandbox::wait_gone(pid));

  // A larger map: every acknowledged job is there, nothing is RUNNING, new jobs are taken.
  sb.write_file("home/sjsd.conf", std::string(k_fast_grace_conf) + "store.map-size-mb = 64\n");
  sb.start_daemon();
  for (const auto& id : acknowledged) {
    auto s = sb.sjs_json({"job", "status", id});
    REQUIRE(s.exit_code == 0);
  }
  const std::string state = sb.job_json(running)["state"];
  CHECK((state == "FINISHED" || state == "ERROR"));
  auto ok = sb.sjs_json({"job", "submit", "ok", "--sync"});
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
}

// ---- per-context limits ------------------------------------------------------------------------

namespace {
bool have_cgroups() { return ::geteuid() == 0 && ::access("/sys/fs/cgroup/pids", W_OK) == 0; }
}  // namespace

TEST_CASE("limits.processes: a job that forks without end is stopped and ends ERROR with the limit as its cause, "
          "sjsd and other contexts go on",
          "[resources][limits]") {
  if (!have_cgroups()) {
    WARN("SKIP: limits.processes needs a writable cgroup v1 pids controller (root)");
    return;
  }
  Sandbox sb(k_fast_grace_conf);
  sb.start_daemon();
  // Bounded: 1000 sleeping children, then a last line that must not be reached.
  sb.upload_script("forker", "i=0\nwhile [ $i -lt 1000 ]; do sleep 30 & i=$((i+1)); done\necho '\"all forked\"'");
  sb.upload_script("ok", "echo '\"ok\"'");
  REQUIRE(sb.sjs({"context", "create", "tight", "--runtime", "exec", "--set", "limits.processes=32"}).exit_code == 0);
  REQUIRE(sb.sjs({"context", "create", "free", "--runtime", "exec"}).exit_code == 0);
  int code = 0;
  const json j = sb.submit_sync_json({"forker", "--context", "tight"}, &code, 60);
  INFO(j.dump());
  CHECK(code == 1);
  CHECK(j["job"]["state"] == "ERROR");
  const std::string message = j["job"]["error"]["message"];
  CHECK(contains(message, "exceeded limits.processes (32)"));
  // Nothing of it is left running.
  const std::string id = j["job"]["id"];
  CHECK(eventually([&] { return job_processes(id).empty(); }, 10));
  // The daemon and another context are fine.
  CHECK(sb.submit_sync_json({"ok", "--context", "free"}, &code)["job"]["state"] == "FINISHED");
  CHECK(sb.submit_sync_json({"ok", "--context", "tight"}, &code)["job"]["state"] == "FINISHED");
}

TEST_CASE("limits.memory: a job that allocates past it is killed and ends ERROR with the limit as its cause, and "
          "limits.open-files is its RLIMIT_NOFILE",
          "[resources][limits]") {
  if (!have_cgroups() || ::access("/sys/fs/cgroup/memory", W_OK) != 0) {
    WARN("SKIP: limits.memory needs a writable cgroup v1 memory controller (root)");
    return;
  }
  Sandbox sb(k_fast_grace_conf);
  sb.start_daemon();
  sb.upload_script("hog", "exec python3 -c 'b = [bytearray(1 << 20) for _ in range(600)]; print(len(b))'");
  sb.upload_script("nofile", "ulimit -n");
  REQUIRE(sb.sjs({"context", "create", "small", "--runtime", "exec", "--set", "limits.memory=64m", "--set",
                  "limits.open-files=77"})
              .exit_code == 0);
  int code = 0;
  const json j = sb.submit_sync_json({"hog", "--context", "small"}, &code, 60);
  INFO(j.dump());
  CHECK(code == 1);
  CHECK(j["job"]["state"] == "ERROR");
  CHECK(contains(j["job"]["error"]["message"].get<std::string>(), "exceeded limits.memory (64 MiB)"));
  const json n = sb.submit_sync_json({"nofile", "--context", "small"}, &code);
  CHECK(n["result"] == 77);
  // A bad value is refused when the context is created, naming the setting.
  auto bad = sb.sjs({"context", "create", "bad", "--runtime", "exec", "--set", "limits.memory=lots"});
  CHECK(bad.exit_code == 8);
  CHECK(contains(bad.err, "limits.memory"));
  CHECK(::kill(sb.daemon_pid(), 0) == 0);
}

TEST_CASE("limits.memory on a python context: a job that allocates past it kills its worker in its memory cgroup, "
          "the job ends ERROR naming the limit, and the context comes back",
          "[resources][limits][python]") {
  if (!have_cgroups() || ::access("/sys/fs/cgroup/memory", W_OK) != 0) {
    WARN("SKIP: limits.memory needs a writable cgroup v1 memory controller (root)");
    return;
  }
  Sandbox sb(k_fast_grace_conf);
  auto started = run_process({k_sjs, "daemon", "start"}, {{"SJS_HOME", sb.home()}, {"SPARK_HOME", ""}});
  REQUIRE(started.exit_code == 0);
  REQUIRE(sb.sjs({"binary", "upload", "hog",
                  sb.write_file("hog.py", "import os\n"
                                          "def eat(ctx, config):\n    b = [bytearray(1 << 20) for _ in range(600)]\n"
                                          "    return len(b)\n"
                                          "def ok(ctx, config):\n    return os.getpid()\n")})
              .exit_code == 0);
  auto r = sb.sjs({"context", "create", "py", "--runtime", "python", "--set", "limits.memory=150m"}, "", 60);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  int code = 0;
  const json j = sb.submit_sync_json({"hog", "eat", "-c", "py"}, &code, 60);
  INFO(j.dump());
  CHECK(code == 1);
  CHECK(contains(j["job"]["error"]["message"].get<std::string>(), "exceeded limits.memory (150 MiB)"));
  REQUIRE(eventually([&] { return sb.context_json("py")["state"] == "RUNNING"; }, 60));
  CHECK(sb.submit_sync_json({"hog", "ok", "-c", "py"}, &code, 60)["job"]["state"] == "FINISHED");
}

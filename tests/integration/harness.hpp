// Integration-test harness: a real sjsd in a fresh temp dir, driven by the
// real sjs binary (and, where a test needs the wire itself, by sjs::Client or
// a raw socket). A failing test keeps its dir (SJS_KEEP_TEST_DIRS=1 keeps all).
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sjs::test {

struct RunResult {
  int exit_code = -1;   // the process's exit status; 128+N if killed by signal N
  std::string out;      // stdout
  std::string err;      // stderr
  nlohmann::json json() const;  // stdout parsed as JSON (throws with the text if it is not)
};

// Starts argv (argv[0] is a path) with the file actions given, SIGPIPE at its default (as from a
// shell, whatever the test binary ignores) and the environment: this process's own without SJS_*
// and XDG_RUNTIME_DIR, or with `clean_env` only PATH; then `env` on top. Throws if it cannot start.
int spawn_process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                  const void* file_actions, bool clean_env = false);

// The directory of the sjs and sjsd under test (the build dir), and the examples jar built there.
std::string build_dir();
std::string examples_jar();

// An HTTP answer as the tests' curl helpers read it.
struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  nlohmann::json js() const;  // the body as JSON (throws with the status and body if it is not)
};

// Sends `bytes` to 127.0.0.1:port over a raw TCP socket (for requests curl will not send);
// half-closes the connection if asked; returns all it reads until the server closes (or
// `timeout_s` passes without a byte).
std::string raw_exchange(int port, const std::string& bytes, bool half_close, double timeout_s = 10);
// The status code of a raw HTTP/1.1 response, 0 if it is not one.
int raw_status(const std::string& response);
// A port on 127.0.0.1 that nothing listens on (bound, then released).
int free_tcp_port();

// Runs argv (argv[0] is a path) with extra environment, optional stdin text,
// and a wall-clock limit (the process is killed past it and exit_code = -1).
RunResult run_process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
                      const std::string& stdin_text = "", double timeout_s = 60);

class Sandbox {
 public:
  // Makes a temp dir with a data dir inside; writes sjsd.conf from `daemon_conf`
  // (HOCON text) if given. Does not start sjsd: the first sjs call autostarts it,
  // or call start_daemon().
  explicit Sandbox(const std::string& daemon_conf = "");
  ~Sandbox();  // stops the daemon (SIGKILL if it will not stop), removes the dir unless kept
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  const std::string& dir() const { return m_dir; }
  const std::string& home() const { return m_home; }      // SJS_HOME
  std::string socket() const { return m_home + "/sjsd.sock"; }

  // Runs the real `sjs` with SJS_HOME set to this sandbox.
  RunResult sjs(const std::vector<std::string>& args, const std::string& stdin_text = "", double timeout_s = 60) const;
  // Same, with --json, asserting nothing about the exit code.
  RunResult sjs_json(std::vector<std::string> args, double timeout_s = 60) const;

  // `sjs daemon start`; throws if it fails.
  void start_daemon() const;
  // pid of the running sjsd from its pidfile, or 0.
  int daemon_pid() const;
  // SIGKILL the daemon and wait until it is gone (crash simulation).
  void kill_daemon() const;
  // Waits until the daemon process with `pid` has exited (or the limit passes).
  static bool wait_gone(int pid, double timeout_s = 30);

  // Writes a file in the sandbox dir; returns its path. mode 0755 for scripts.
  std::string write_file(const std::string& name, const std::string& content, unsigned mode = 0644) const;
  // Writes an exec script (a #!/bin/sh body) and uploads it as binary `name`.
  void upload_script(const std::string& name, const std::string& sh_body) const;

  // Polls `sjs job status ID` until the job is in `state` (or the limit passes).
  bool wait_for_state(const std::string& job_id, const std::string& state, double timeout_s = 30) const;

  // `sjs [--no-autostart] job submit ARGS...` (async); REQUIREs exit 0 and returns the job id it prints.
  std::string submit(std::vector<std::string> args, bool no_autostart = false) const;
  // `sjs --json job status ID`: the job's JSON (REQUIREs exit 0).
  nlohmann::json job_json(const std::string& id) const;
  // `sjs --json context show NAME`: the context's JSON (REQUIREs exit 0).
  nlohmann::json context_json(const std::string& name) const;
  // `sjs --json job submit ARGS... --sync`: the JobResult JSON whatever the exit code (also returned).
  nlohmann::json submit_sync_json(std::vector<std::string> args, int* exit_code = nullptr, double timeout_s = 60) const;

  // Marks the sandbox to be kept (called on failure by tests that want it).
  void keep() { m_keep = true; }

 private:
  std::string m_dir;
  std::string m_home;
  bool m_keep = false;
};

// Short grace periods: kills escalate fast, and a sandbox with a job still running tears down fast.
inline constexpr const char* k_fast_grace_conf = "shutdown.grace-seconds = 1\nkill.grace-seconds = 1\n";

// A shell loop that blocks until `path` exists: a job that runs exactly as long as the test wants.
std::string wait_for_file(const std::string& path);
// Creates `path` (empty), e.g. to open the gate of wait_for_file().
void touch(const std::string& path);
// `s` without its trailing newlines and spaces.
std::string trim(std::string s);
// Seconds elapsed since `t0`.
double seconds_since(std::chrono::steady_clock::time_point t0);

// The file's bytes, or what could be read of them ("" if it vanished: /proc entries do).
std::string read_all(const std::string& path);
// The headers of the last response in `raw` (curl -D output; a 100 Continue may
// come first), names lower-cased.
std::map<std::string, std::string> last_header_block(const std::string& raw);
// `s` cut at each NUL (the form of /proc/PID/cmdline and /proc/PID/environ).
std::vector<std::string> split_nul(const std::string& s);
// The parts of `s` between separators (a trailing separator ends the last part: no empty one after it).
std::vector<std::string> split_on(const std::string& s, char separator);
std::vector<std::string> lines_of(const std::string& text);
bool contains(const std::string& haystack, const std::string& needle);
// The pids of all processes (the numeric entries of /proc).
std::vector<int> all_pids();
// Processes (not zombies: their environ reads empty) that carry SJS_JOB_ID=<id>.
std::vector<int> job_processes(const std::string& job_id);

// True once `pid` has exited: no such process, or a zombie no one has reaped yet
// (a detached sjsd is reparented to PID 1, which may reap it late or never).
bool process_exited(int pid);

// Polls `pred` every 20 ms until it is true or `timeout_s` passes.
template <typename Pred>
bool eventually(Pred pred, double timeout_s = 30) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long>(timeout_s * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    struct timespec ts {0, 20 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  return pred();
}

extern const char* const k_sjs;    // path of the built sjs
extern const char* const k_sjsd;   // path of the built sjsd
extern const char* const k_source; // the source tree (examples/)

}  // namespace sjs::test

// Helpers shared by the benchmark programs: process spawning without a shell,
// monotonic timing, summary statistics, temp dirs. Benchmarks print numbers;
// they assert nothing about speed (see README.md).
#pragma once

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <spawn.h>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <csignal>
#include <nlohmann/json.hpp>

extern char** environ;

namespace sjs::bench {

inline std::int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

inline double ms_since(std::int64_t start_ns) { return static_cast<double>(now_ns() - start_ns) / 1e6; }

// A fresh directory under the system temp dir (same filesystem as /tmp), removed
// with everything in it on destruction unless SJS_KEEP_BENCH_DIRS=1.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix) {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data())) throw std::runtime_error("mkdtemp " + tmpl + ": " + std::strerror(errno));
    m_path = buf.data();
  }
  ~TempDir() {
    const char* keep = std::getenv("SJS_KEEP_BENCH_DIRS");
    if (keep && std::string(keep) == "1") {
      std::fprintf(stderr, "bench: kept %s\n", m_path.c_str());
      return;
    }
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return m_path; }

 private:
  std::string m_path;
};

// The current environment with `set` applied (a value of "\x01" removes the variable).
class Environment {
 public:
  explicit Environment(const std::map<std::string, std::string>& set) {
    std::map<std::string, std::string> vars;
    for (char** e = environ; *e; ++e) {
      std::string kv(*e);
      auto eq = kv.find('=');
      if (eq != std::string::npos) vars[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    for (const auto& [k, v] : set) {
      if (v == k_unset) vars.erase(k);
      else vars[k] = v;
    }
    for (const auto& [k, v] : vars) m_strings.push_back(k + "=" + v);
    for (auto& s : m_strings) m_ptrs.push_back(s.data());
    m_ptrs.push_back(nullptr);
  }
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;
  char** envp() const { return const_cast<char**>(m_ptrs.data()); }
  static constexpr const char* k_unset = "\x01";

 private:
  std::vector<std::string> m_strings;
  std::vector<char*> m_ptrs;
};

// argv prepared once, so that building it is not part of a timed iteration.
class Argv {
 public:
  explicit Argv(std::vector<std::string> args) : m_args(std::move(args)) {
    for (auto& a : m_args) m_ptrs.push_back(a.data());
    m_ptrs.push_back(nullptr);
  }
  Argv(const Argv& o) : Argv(o.m_args) {}
  Argv& operator=(const Argv&) = delete;
  char** get() const { return const_cast<char**>(m_ptrs.data()); }
  const std::vector<std::string>& args() const { return m_args; }
  std::string joined() const {
    std::string s;
    for (const auto& a : m_args) s += (s.empty() ? "" : " ") + a;
    return s;
  }

 private:
  std::vector<std::string> m_args;
  std::vector<char*> m_ptrs;
};

// The sjs under test: the one built with this benchmark, unless $SJS_BENCH_SJS
// names another (to compare two builds; sjs starts the sjsd that sits next to it).
inline std::string sjs_binary() {
  const char* other = std::getenv("SJS_BENCH_SJS");
  return other && *other ? std::string(other) : std::string(SJS_BIN);
}

inline int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// posix_spawn + waitpid, no shell. stdin is /dev/null. stdout goes to /dev/null,
// or into *out when given (read through a pipe until EOF). stderr goes to /dev/null,
// or into *err when given. Returns the exit status (128+N for signal N).
inline int spawn_wait(const Argv& argv, const Environment& env, std::string* out = nullptr, std::string* err = nullptr) {
  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  if (out && ::pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  if (err && ::pipe2(err_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (out) posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  else posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  if (err) posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
  else posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, argv.get()[0], &fa, nullptr, argv.get(), env.envp());
  posix_spawn_file_actions_destroy(&fa);
  if (out) ::close(out_pipe[1]);
  if (err) ::close(err_pipe[1]);
  if (rc != 0) {
    if (out) ::close(out_pipe[0]);
    if (err) ::close(err_pipe[0]);
    throw std::runtime_error("posix_spawn " + argv.args()[0] + ": " + std::strerror(rc));
  }
  // Read both pipes to EOF (poll-free: stderr is only captured for setup commands,
  // whose output is small, so reading stdout first cannot deadlock in practice).
  auto drain = [](int fd, std::string* into) {
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      into->append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
  };
  if (out) drain(out_pipe[0], out);
  if (err) drain(err_pipe[0], err);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error("waitpid failed");
  }
  return decode_status(status);
}

// A setup command that must succeed; throws with its output otherwise. Returns stdout.
inline std::string run_checked(const Argv& argv, const Environment& env) {
  std::string out, err;
  int rc = spawn_wait(argv, env, &out, &err);
  if (rc != 0) {
    throw std::runtime_error("`" + argv.joined() + "` exited with " + std::to_string(rc) + ": " + err + out);
  }
  return out;
}

struct Summary {
  std::size_t n = 0;
  double median = 0, p90 = 0, p99 = 0, mean = 0, min = 0, max = 0;
};

// Nearest-rank percentiles over the samples (ms).
inline Summary summarize(std::vector<double> samples) {
  Summary s;
  s.n = samples.size();
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  auto rank = [&](double p) {
    auto k = static_cast<std::size_t>(std::ceil(p * static_cast<double>(samples.size())));
    return samples[std::min(samples.size(), std::max<std::size_t>(k, 1)) - 1];
  };
  s.median = rank(0.5);
  s.p90 = rank(0.9);
  s.p99 = rank(0.99);
  double sum = 0;
  for (double v : samples) sum += v;
  s.mean = sum / static_cast<double>(samples.size());
  s.min = samples.front();
  s.max = samples.back();
  return s;
}

// Parses "--name value" integer options into the given slots; anything else
// prints the usage and exits with 2.
inline void parse_int_options(int argc, char** argv, const std::map<std::string, long*>& options) {
  auto usage = [&] {
    std::fprintf(stderr, "usage: %s", argv[0]);
    for (const auto& [name, slot] : options) std::fprintf(stderr, " [%s N (default %ld)]", name.c_str(), *slot);
    std::fprintf(stderr, "\n");
    std::exit(2);
  };
  for (int i = 1; i < argc; i += 2) {
    auto it = options.find(argv[i]);
    if (it == options.end() || i + 1 >= argc) usage();
    char* end = nullptr;
    long v = std::strtol(argv[i + 1], &end, 10);
    if (!end || *end != '\0' || v < 0) usage();
    *it->second = v;
  }
}

// A detached sjsd started with `sjs daemon start` in the data dir that `env`
// names (SJS_HOME). stop() uses `sjs daemon stop`; the destructor stops it too,
// and SIGKILLs it if it will not go, so a failed benchmark leaves no daemon behind.
class Daemon {
 public:
  Daemon(std::string sjs, const Environment& env) : m_sjs(std::move(sjs)), m_env(env) {
    run_checked(Argv({m_sjs, "daemon", "start"}), m_env);
    auto st = nlohmann::json::parse(run_checked(Argv({m_sjs, "--json", "daemon", "status"}), m_env));
    m_pid = st.value("pid", 0);
    if (m_pid <= 0) throw std::runtime_error("sjs daemon status did not give a pid: " + st.dump());
  }
  ~Daemon() {
    if (m_pid <= 0) return;
    try {
      stop();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench: %s: killing sjsd (pid %d)\n", e.what(), m_pid);
      ::kill(m_pid, SIGKILL);
    }
  }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  int pid() const { return m_pid; }
  // Stops the daemon and returns how long `sjs daemon stop` took (ms).
  double stop() {
    if (m_pid <= 0) return 0;
    const auto t0 = now_ns();
    run_checked(Argv({m_sjs, "daemon", "stop", "--wait", "60"}), m_env);
    m_pid = 0;
    return ms_since(t0);
  }

 private:
  std::string m_sjs;
  const Environment& m_env;
  int m_pid = 0;
};

// The first executable `name` on $PATH, or "" (posix_spawn does not search PATH).
inline std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= p.size()) {
    auto colon = p.find(':', start);
    std::string dir = p.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return "";
}

// Runs `fn` `warmup` times untimed, then `n` times timed; returns the times (ms).
template <typename Fn>
std::vector<double> time_loop(long warmup, long n, Fn fn) {
  for (long i = 0; i < warmup; ++i) fn();
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) {
    const auto t0 = now_ns();
    fn();
    samples.push_back(ms_since(t0));
  }
  return samples;
}

}  // namespace sjs::bench

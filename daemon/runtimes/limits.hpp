// A context's resource limits (limits.memory, limits.processes, limits.open-files) and how each of the
// context's process trees (an exec job; a jvm, spark or python worker) is held to them.
//
// Where sjsd may make cgroups (cgroup v1 memory and pids controllers, as root), each tree gets its own
// under sjsd's: <controller>/<sjsd's cgroup>/sjsd-<pid>/<context>/<tree>, so the kernel counts the whole
// tree (children included) and sjsd can tell afterwards which limit it hit. Otherwise the limits are
// rlimits set in the child before exec: RLIMIT_DATA for memory (not RLIMIT_AS: the JVM reserves far more
// address space than it uses, and would not start), RLIMIT_NPROC for processes (it counts every process
// of the user and does nothing for root). limits.open-files is always RLIMIT_NOFILE.
//
// Threads: all on the core thread; the child side (ChildSetup) runs between fork and exec.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace sjs {

struct ContextLimits {
  std::uint64_t memory = 0;      // bytes; 0 = no limit
  std::uint64_t processes = 0;   // processes (and threads) of one tree; 0 = no limit
  std::uint64_t open_files = 0;  // per process; 0 = as sjsd's children get by default
  bool any() const { return memory || processes || open_files; }
};

// A context's limits: its own settings (limits.memory, ...), else the defaults (sjsd.conf's limits.*).
// Values were checked against the settings table; a bad one here is bad_request.
ContextLimits limits_of(const nlohmann::json& settings, const ContextLimits& defaults);
// "512m" -> 536870912 (k, m, g, t: powers of 1024; no suffix: bytes); throws bad_request.
std::uint64_t parse_size(const std::string& text, const std::string& what);
// 268435456 -> "256 MiB"
std::string format_size(std::uint64_t bytes);

// What a child does between fork and exec (only async-signal-safe calls there).
struct ChildSetup {
  std::vector<std::string> join;                  // cgroup.procs files the child writes "0" into
  std::vector<std::pair<int, std::uint64_t>> rlimits;  // resource, soft = hard limit
  bool empty() const { return join.empty() && rlimits.empty(); }
};

// One process tree's limits. Owns its cgroups: they are removed (their processes killed) when it goes.
class LimitedTree {
 public:
  // `tree` names it within the context (a job id, "worker-3").
  LimitedTree(const ContextLimits& limits, const std::string& context, const std::string& tree);
  ~LimitedTree();
  LimitedTree(const LimitedTree&) = delete;
  LimitedTree& operator=(const LimitedTree&) = delete;

  const ChildSetup& setup() const { return m_setup; }
  bool has_cgroup() const { return !m_memory_dir.empty() || !m_pids_dir.empty(); }
  // True once the pids cgroup refused a fork: the tree tried to run more than limits.processes.
  bool processes_hit() const;
  // The limit the tree hit, as the cause in a job's error: "exceeded limits.memory (256 MiB) and was
  // killed by the kernel" / "exceeded limits.processes (64) and was stopped"; "" if none is known.
  std::string exceeded() const;
  // SIGKILLs every process in the tree's cgroups (a fork bomb's children included).
  void kill_all() const;

 private:
  ContextLimits m_limits;
  std::string m_memory_dir;  // "" when memory is not limited by a cgroup
  std::string m_pids_dir;
  ChildSetup m_setup;
};

// Where sjsd's limits go on this machine, for its log at start: "cgroup v1 (memory, pids)" or
// "rlimits (...why)".
std::string limits_mechanism();
// Removes sjsd's own cgroups (sjsd-<pid>) at exit, and those of sjsd processes that are gone.
void remove_stale_cgroups();

}  // namespace sjs

#include "runtimes/limits.hpp"

#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "sjs/errors.hpp"
#include "sjs/util.hpp"

namespace sjs {
namespace {

// Where this sjsd makes its cgroups, per controller: "<mount>/<sjsd's cgroup>" ("" = it cannot), found
// once from /proc/self/cgroup. Only cgroup v1 controllers are used: under cgroup v2 a cgroup holding
// processes (sjsd's own) may not hand controllers to children, so sjsd would have to move itself.
struct Bases {
  std::string memory;
  std::string pids;
  std::string why_not;  // when one is missing: why
};

bool writable_dir(const std::string& dir) {
  struct stat st {};
  return ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && ::access(dir.c_str(), W_OK) == 0;
}

const Bases& bases() {
  static const Bases b = [] {
    Bases r;
    std::ifstream in("/proc/self/cgroup");
    std::string line;
    while (std::getline(in, line)) {
      // "4:memory:/some/path" (v1) or "0::/path" (v2)
      const auto c1 = line.find(':'), c2 = line.find(':', c1 + 1);
      if (c1 == std::string::npos || c2 == std::string::npos) continue;
      const std::string controllers = line.substr(c1 + 1, c2 - c1 - 1);
      std::string path = line.substr(c2 + 1);
      if (path == "/") path.clear();
      std::stringstream names(controllers);
      std::string name;
      while (std::getline(names, name, ',')) {
        if (name != "memory" && name != "pids") continue;
        const std::string dir = "/sys/fs/cgroup/" + name + path;
        if (!writable_dir(dir)) continue;
        (name == "memory" ? r.memory : r.pids) = dir;
      }
    }
    if (r.memory.empty() || r.pids.empty()) {
      r.why_not = std::string("no writable cgroup v1 ") + (r.memory.empty() ? "memory" : "") +
                  (r.memory.empty() && r.pids.empty() ? " or " : "") + (r.pids.empty() ? "pids" : "") +
                  " controller for sjsd's cgroup (/proc/self/cgroup; sjsd needs root)";
    }
    return r;
  }();
  return b;
}

std::string own_dir(const std::string& base) { return base + "/sjsd-" + std::to_string(::getpid()); }

bool write_text(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

// The number after `key` in a "key value" file (pids.events, memory.oom_control); 0 if absent.
std::uint64_t counter(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  std::string k;
  std::uint64_t v = 0;
  while (in >> k >> v) {
    if (k == key) return v;
  }
  return 0;
}

void kill_procs(const std::string& dir) {
  for (int round = 0; round < 3; ++round) {
    std::ifstream in(dir + "/cgroup.procs");
    pid_t pid = 0;
    bool any = false;
    while (in >> pid) {
      if (pid > 0) ::kill(pid, SIGKILL);
      any = true;
    }
    if (!any) return;
  }
}

// Cgroups that could not be removed yet (their killed processes were still leaving): tried again later.
std::vector<std::string>& graveyard() {
  static std::vector<std::string> g;
  return g;
}

void bury(const std::string& dir) {
  if (dir.empty()) return;
  if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) {
    // The context's directory goes with its last tree (it fails, harmlessly, while others remain).
    ::rmdir(dir.substr(0, dir.rfind('/')).c_str());
    return;
  }
  graveyard().push_back(dir);
}

void retry_graveyard() {
  auto dirs = std::move(graveyard());
  graveyard().clear();
  for (const auto& d : dirs) bury(d);
}

// Depth first: kills what is left in each cgroup, then removes it.
void remove_tree(const std::string& dir) {
  if (DIR* d = ::opendir(dir.c_str())) {
    std::vector<std::string> children;
    while (dirent* e = ::readdir(d)) {
      if (e->d_type == DT_DIR && e->d_name[0] != '.') children.push_back(dir + "/" + e->d_name);
    }
    ::closedir(d);
    for (const auto& c : children) remove_tree(c);
  }
  kill_procs(dir);
  for (int i = 0; i < 20 && ::rmdir(dir.c_str()) != 0 && errno == EBUSY; ++i) ::usleep(5000);
}

std::string make_dir(const std::string& base, const std::string& context, const std::string& tree) {
  const std::string own = own_dir(base), ctx = own + "/" + context, dir = ctx + "/" + tree;
  for (const auto& d : {own, ctx, dir}) {
    if (::mkdir(d.c_str(), 0755) != 0 && errno != EEXIST) {
      spdlog::warn("context {}: cannot make cgroup {}: {}", context, d, std::strerror(errno));
      return "";
    }
  }
  return dir;
}

}  // namespace

std::uint64_t parse_size(const std::string& text, const std::string& what) {
  std::size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  std::string unit = text.substr(i);
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  int shift = -1;
  if (unit.empty()) shift = 0;
  else if (unit == "k") shift = 10;
  else if (unit == "m") shift = 20;
  else if (unit == "g") shift = 30;
  else if (unit == "t") shift = 40;
  if (i == 0 || i > 15 || shift < 0) {
    throw Error(ErrorCode::bad_request, "bad value \"" + text + "\" for " + what +
                                            ": a size such as 512m or 2g (digits with an optional k, m, g or t)");
  }
  return std::stoull(text.substr(0, i)) << shift;
}

std::string format_size(std::uint64_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (u < 4 && bytes >= 1024 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++u;
  }
  return std::to_string(bytes) + " " + units[u];
}

ContextLimits limits_of(const nlohmann::json& settings, const ContextLimits& defaults) {
  ContextLimits l = defaults;
  const nlohmann::json* block = nullptr;
  if (settings.is_object()) {
    auto it = settings.find("limits");
    if (it != settings.end() && it->is_object()) block = &*it;
  }
  auto text_of = [&](const char* key, std::string& out) {
    std::string flat = std::string("limits.") + key;
    const nlohmann::json* v = nullptr;
    if (block && block->contains(key)) v = &(*block)[key];
    else if (settings.is_object() && settings.contains(flat)) v = &settings[flat];
    if (!v) return false;
    out = v->is_string() ? v->get<std::string>() : v->dump();
    return true;
  };
  std::string t;
  if (text_of("memory", t)) l.memory = parse_size(t, "limits.memory");
  auto count = [](const std::string& text, const char* what) -> std::uint64_t {
    if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos) {
      throw Error(ErrorCode::bad_request, "bad value \"" + text + "\" for " + what + ": a whole number");
    }
    return std::stoull(text);
  };
  if (text_of("processes", t)) l.processes = count(t, "limits.processes");
  if (text_of("open-files", t)) l.open_files = count(t, "limits.open-files");
  return l;
}

LimitedTree::LimitedTree(const ContextLimits& limits, const std::string& context, const std::string& tree)
    : m_limits(limits) {
  retry_graveyard();
  const Bases& b = bases();
  if (limits.memory && !b.memory.empty()) {
    m_memory_dir = make_dir(b.memory, context, tree);
    if (!m_memory_dir.empty() && !write_text(m_memory_dir + "/memory.limit_in_bytes", std::to_string(limits.memory))) {
      spdlog::warn("context {}: cannot set {}/memory.limit_in_bytes: {}", context, m_memory_dir, std::strerror(errno));
      bury(m_memory_dir);
      m_memory_dir.clear();
    }
  }
  if (limits.processes && !b.pids.empty()) {
    m_pids_dir = make_dir(b.pids, context, tree);
    if (!m_pids_dir.empty() && !write_text(m_pids_dir + "/pids.max", std::to_string(limits.processes))) {
      spdlog::warn("context {}: cannot set {}/pids.max: {}", context, m_pids_dir, std::strerror(errno));
      bury(m_pids_dir);
      m_pids_dir.clear();
    }
  }
  if (!m_memory_dir.empty()) m_setup.join.push_back(m_memory_dir + "/cgroup.procs");
  if (!m_pids_dir.empty()) m_setup.join.push_back(m_pids_dir + "/cgroup.procs");
  if (limits.memory && m_memory_dir.empty()) m_setup.rlimits.emplace_back(RLIMIT_DATA, limits.memory);
  if (limits.processes && m_pids_dir.empty()) m_setup.rlimits.emplace_back(RLIMIT_NPROC, limits.processes);
  if (limits.open_files) m_setup.rlimits.emplace_back(RLIMIT_NOFILE, limits.open_files);
}

LimitedTree::~LimitedTree() {
  for (const auto& dir : {m_memory_dir, m_pids_dir}) {
    if (dir.empty()) continue;
    kill_procs(dir);
    bury(dir);
  }
}

bool LimitedTree::processes_hit() const {
  return !m_pids_dir.empty() && counter(m_pids_dir + "/pids.events", "max") > 0;
}

std::string LimitedTree::exceeded() const {
  if (!m_memory_dir.empty() && counter(m_memory_dir + "/memory.oom_control", "oom_kill") > 0) {
    return "exceeded limits.memory (" + format_size(m_limits.memory) + ") and was killed by the kernel";
  }
  if (processes_hit()) {
    return "exceeded limits.processes (" + std::to_string(m_limits.processes) + ") and was stopped";
  }
  return "";
}

void LimitedTree::kill_all() const {
  for (const auto& dir : {m_memory_dir, m_pids_dir}) {
    if (!dir.empty()) kill_procs(dir);
  }
}

std::string limits_mechanism() {
  const Bases& b = bases();
  std::string s;
  if (!b.memory.empty()) s += "limits.memory as a cgroup v1 memory limit under " + own_dir(b.memory);
  else s += "limits.memory as RLIMIT_DATA";
  if (!b.pids.empty()) s += ", limits.processes as a cgroup v1 pids limit under " + own_dir(b.pids);
  else s += ", limits.processes as RLIMIT_NPROC (per user; none for root)";
  if (!b.why_not.empty()) s += " (" + b.why_not + ")";
  return s;
}

void remove_stale_cgroups() {
  const Bases& b = bases();
  for (const auto& base : {b.memory, b.pids}) {
    if (base.empty()) continue;
    DIR* d = ::opendir(base.c_str());
    if (!d) continue;
    std::vector<std::string> doomed;
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (e->d_type != DT_DIR || !starts_with(name, "sjsd-")) continue;
      const std::string pid = name.substr(5);
      if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
      // This sjsd's own (at exit), or one whose sjsd is gone.
      if (std::stol(pid) == ::getpid() || ::kill(static_cast<pid_t>(std::stol(pid)), 0) != 0) {
        doomed.push_back(base + "/" + name);
      }
    }
    ::closedir(d);
    for (const auto& dir : doomed) remove_tree(dir);
  }
}

}  // namespace sjs

#include "runtimes/process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>

#include <algorithm>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/close_range.h>
#include <unistd.h>

#include "sjs/errors.hpp"
#include "sjs/util.hpp"

extern char** environ;

namespace sjs {

std::vector<std::string> child_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    if (starts_with(*e, "SJS_")) continue;
    env.emplace_back(*e);
  }
  for (const auto& kv : extra) {
    const std::string key = kv.substr(0, kv.find('=') + 1);
    for (auto it = env.begin(); it != env.end();) it = starts_with(*it, key) ? env.erase(it) : std::next(it);
    env.push_back(kv);
  }
  return env;
}

namespace {
rlimit g_child_nofile{};  // the open-files limit sjsd started with, when it raised its own
bool g_nofile_raised = false;
}  // namespace

void raise_open_files_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur >= r.rlim_max) return;
  const rlimit original = r;
  r.rlim_cur = r.rlim_max == RLIM_INFINITY ? 65536 : std::min<rlim_t>(r.rlim_max, 65536);
  if (r.rlim_cur <= original.rlim_cur || ::setrlimit(RLIMIT_NOFILE, &r) != 0) return;
  g_child_nofile = original;
  g_nofile_raised = true;
}

namespace {

// fork, then in the child only async-signal-safe calls: join the cgroups, set the rlimits, wire the
// descriptors, exec. A failure before exec comes back through a close-on-exec pipe as an errno.
pid_t fork_exec(const SpawnSpec& spec, int null_fd, const std::vector<char*>& argv, const std::vector<char*>& envp) {
  std::string path = spec.path;
  if (path.find('/') == std::string::npos) {
    // Search PATH here: execvpe is not async-signal-safe.
    const char* p = ::getenv("PATH");
    std::string dirs = p ? p : "/usr/bin:/bin";
    std::size_t start = 0;
    for (;;) {
      const std::size_t colon = dirs.find(':', start);
      const std::string dir = dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
      const std::string candidate = (dir.empty() ? "." : dir) + "/" + spec.path;
      if (::access(candidate.c_str(), X_OK) == 0) {
        path = candidate;
        break;
      }
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return -errno;
  const int fds[4] = {spec.stdin_fd >= 0 ? spec.stdin_fd : null_fd, spec.stdout_fd >= 0 ? spec.stdout_fd : null_fd,
                      spec.stderr_fd >= 0 ? spec.stderr_fd : null_fd, spec.fd3};
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int e = errno;
    ::close(report[0]);
    ::close(report[1]);
    return -e;
  }
  if (pid == 0) {
    auto fail = [&](int e) {
      ssize_t ignored = ::write(report[1], &e, sizeof e);
      (void)ignored;
      ::_exit(127);
    };
    for (const auto& file : spec.limits.join) {
      const int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0 || ::write(fd, "0", 1) != 1) fail(errno);
      ::close(fd);
    }
    for (const auto& [resource, value] : spec.limits.rlimits) {
      const rlimit r{static_cast<rlim_t>(value), static_cast<rlim_t>(value)};
      if (::setrlimit(static_cast<__rlimit_resource>(resource), &r) != 0) fail(errno);
    }
    ::setpgid(0, 0);
    for (int s : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGQUIT, SIGUSR1, SIGUSR2}) ::signal(s, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // Move the sources out of 0..3 first, so that wiring one does not overwrite another.
    int moved[4];
    for (int i = 0; i < 4; ++i) moved[i] = fds[i] >= 0 ? ::fcntl(fds[i], F_DUPFD_CLOEXEC, 10) : -1;
    for (int i = 0; i < 4; ++i) {
      if (moved[i] >= 0 && ::dup2(moved[i], i) < 0) fail(errno);
    }
    ::close_range(spec.fd3 >= 0 ? 4 : 3, ~0U, CLOSE_RANGE_CLOEXEC);
    ::fcntl(report[1], F_SETFD, FD_CLOEXEC);
    if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) fail(errno);
    ::execve(path.c_str(), argv.data(), envp.data());
    fail(errno);
  }
  ::close(report[1]);
  int e = 0;
  ssize_t n;
  do n = ::read(report[0], &e, sizeof e);
  while (n < 0 && errno == EINTR);
  ::close(report[0]);
  if (n == static_cast<ssize_t>(sizeof e)) {
    ::waitpid(pid, nullptr, 0);
    return -e;
  }
  return pid;
}

}  // namespace

pid_t spawn_process(const SpawnSpec& spec) {
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, spec.stdin_fd >= 0 ? spec.stdin_fd : null_fd, 0);
  posix_spawn_file_actions_adddup2(&fa, spec.stdout_fd >= 0 ? spec.stdout_fd : null_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, spec.stderr_fd >= 0 ? spec.stderr_fd : null_fd, 2);
  if (spec.fd3 >= 0) posix_spawn_file_actions_adddup2(&fa, spec.fd3, 3);
  posix_spawn_file_actions_addclosefrom_np(&fa, spec.fd3 >= 0 ? 4 : 3);
  if (!spec.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, spec.cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGQUIT, SIGUSR1, SIGUSR2}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> argv_s = spec.argv, env_s = spec.env;
  std::vector<char*> argv, envp;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  for (auto& s : env_s) envp.push_back(s.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc = 0;
  const bool search = spec.path.find('/') == std::string::npos;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (!spec.limits.empty()) {
      pid = fork_exec(spec, null_fd, argv, envp);
      rc = pid < 0 ? -pid : 0;
      if (rc != ETXTBSY) break;
      ::usleep(2000);
      continue;
    }
    rc = search ? ::posix_spawnp(&pid, spec.path.c_str(), &fa, &attr, argv.data(), envp.data())
                : ::posix_spawn(&pid, spec.path.c_str(), &fa, &attr, argv.data(), envp.data());
    if (rc != ETXTBSY) break;  // another thread's child briefly held the file open for writing
    ::usleep(2000);
  }
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (null_fd >= 0) ::close(null_fd);
  if (rc != 0) throw Error(ErrorCode::internal, "cannot start " + spec.path + ": " + std::strerror(rc));
  bool own_nofile = false;
  for (const auto& r : spec.limits.rlimits) own_nofile = own_nofile || r.first == RLIMIT_NOFILE;
  if (g_nofile_raised && !own_nofile) ::prlimit(pid, RLIMIT_NOFILE, &g_child_nofile, nullptr);
  return pid;
}

int open_pidfd(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* abbrev = sigabbrev_np(WTERMSIG(status));
    return std::string("was killed by ") + (abbrev ? std::string("SIG") + abbrev : std::to_string(WTERMSIG(status)));
  }
  return "ended with wait status " + std::to_string(status);
}

}  // namespace sjs

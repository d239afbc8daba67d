#include "runtimes/exec_runtime.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "sjs/errors.hpp"
#include "sjs/util.hpp"
#include "runtimes/limits.hpp"
#include "runtimes/process.hpp"

extern char** environ;

namespace sjs {

namespace asio = boost::asio;

namespace {
constexpr std::size_t k_max_stdout = 16u << 20;  // kept for the result
constexpr std::size_t k_stderr_tail = 8192;      // kept for the error's stack
constexpr int k_drain_ms = 500;                  // after exit, wait this long for pipes held by children

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

nlohmann::json parse_output(const std::string& text) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ' || t.back() == '\t')) t.pop_back();
  auto j = nlohmann::json::parse(t, nullptr, false);
  if (!j.is_discarded()) return j;
  return nlohmann::json(t);
}

std::vector<std::string> tail_lines(const std::string& text, std::size_t max_lines) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    std::string line = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (!line.empty()) lines.push_back(std::move(line));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  if (lines.size() > max_lines) lines.erase(lines.begin(), lines.end() - static_cast<long>(max_lines));
  return lines;
}

}  // namespace

struct ExecRuntime::Process {
  Process(asio::io_context& io)
      : out(io), err(io), exit_watch(io), kill_timer(io), drain_timer(io), limit_watch(io) {}
  JobRun run;
  pid_t pid = -1;
  asio::posix::stream_descriptor out, err, exit_watch;
  asio::steady_timer kill_timer, drain_timer;
  bool out_eof = false, err_eof = false, exited = false, finished = false;
  int wait_status = 0;
  std::string stdout_capture;
  bool stdout_truncated = false;
  std::string stderr_tail;
  std::string cancel_reason;  // non-empty once cancelled
  std::string spawn_error;
  std::array<char, 65536> out_buf{}, err_buf{};
  std::unique_ptr<LimitedTree> limits;  // the job's cgroups or rlimits (limits.*), if its context has any
  asio::steady_timer limit_watch;       // polls the pids cgroup: a job that hits limits.processes is stopped
  std::string limit_hit;                // the limit it hit ("exceeded limits.processes (64) ..."), if any
};

namespace {
constexpr int k_limit_watch_ms = 200;
}

ExecRuntime::ExecRuntime(asio::io_context& io, JobSink& sink, const RuntimeOptions& options, std::string name,
                         nlohmann::json settings)
    : m_io(io), m_sink(sink), m_options(options), m_name(std::move(name)), m_settings(std::move(settings)) {}

ExecRuntime::~ExecRuntime() {
  for (auto& [id, p] : m_running) {
    p->finished = true;
    if (p->pid > 0) ::kill(-p->pid, SIGKILL);
    boost::system::error_code ec;
    p->out.close(ec);
    p->err.close(ec);
    p->exit_watch.close(ec);
    p->kill_timer.cancel();
    p->drain_timer.cancel();
    p->limit_watch.cancel();
  }
}

void ExecRuntime::start(std::function<void(const std::string&)> ready) { ready(""); }

void ExecRuntime::stop(std::function<void()> stopped) {
  for (auto& [id, p] : m_running) cancel(id, end_reason::k_shutdown);
  stopped();
}

void ExecRuntime::run(JobRun run) {
  auto p = std::make_shared<Process>(m_io);
  p->run = std::move(run);
  const JobInfo& job = p->run.job;
  m_running[job.id] = p;

  std::string config_path = p->run.work_dir + "/config.json";
  std::string result_path = p->run.work_dir + "/result.json";
  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  int in_fd = -1;
  try {
    if (::mkdir(p->run.work_dir.c_str(), 0700) != 0 && errno != EEXIST) {
      throw Error(ErrorCode::internal, "cannot create " + p->run.work_dir + ": " + std::strerror(errno));
    }
    // A scratch copy for this run only (the config is durable in the store): no fsync.
    const std::string text = p->run.config.dump();
    int cfd = ::open(config_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool written = cfd >= 0 && ::write(cfd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    if (cfd >= 0) ::close(cfd);
    if (!written) throw Error(ErrorCode::internal, "cannot write " + config_path + ": " + std::strerror(errno));
    in_fd = ::open(config_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (in_fd < 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
      throw Error(ErrorCode::internal, std::string("cannot set up the job's I/O: ") + std::strerror(errno));
    }
  } catch (const std::exception& e) {
    for (int fd : {in_fd, out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) if (fd >= 0) ::close(fd);
    p->spawn_error = e.what();
    p->exited = p->out_eof = p->err_eof = true;
    asio::post(m_io, [this, p] { finish(p); });
    return;
  }

  // argv: ENTRY (or the binary's name) as argv[0], then the job's arguments.
  std::vector<std::string> argv_s;
  argv_s.push_back(job.entry.empty() ? job.binary : job.entry);
  for (const auto& a : job.args) argv_s.push_back(a);
  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e) {
    if (starts_with(*e, "SJS_")) continue;
    env_s.emplace_back(*e);
  }
  env_s.push_back("SJS_JOB_ID=" + job.id);
  env_s.push_back("SJS_CONFIG=" + config_path);
  env_s.push_back("SJS_RESULT=" + result_path);
  env_s.push_back("SJS_CONTEXT=" + job.context);
  if (m_settings.is_object() && m_settings.contains("env") && m_settings["env"].is_object()) {
    for (auto it = m_settings["env"].begin(); it != m_settings["env"].end(); ++it) {
      env_s.push_back(it.key() + "=" + (it->is_string() ? it->get<std::string>() : it->dump()));
    }
  }
  std::vector<char*> argv, envp;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  for (auto& s : env_s) envp.push_back(s.data());
  envp.push_back(nullptr);

  pid_t pid = -1;
  int rc = 0;
  std::string spawn_failure;  // spawn_process's message
  if (m_options.limits.any()) {
    // Limits need a step between fork and exec (join the job's cgroups, set rlimits): spawn_process.
    p->limits = std::make_unique<LimitedTree>(m_options.limits, m_options.context_name, job.id);
    SpawnSpec spec;
    spec.path = p->run.binary_path;
    spec.argv = argv_s;
    spec.env = env_s;
    spec.cwd = p->run.work_dir;
    spec.stdin_fd = in_fd;
    spec.stdout_fd = out_pipe[1];
    spec.stderr_fd = err_pipe[1];
    spec.limits = p->limits->setup();
    try {
      pid = spawn_process(spec);
    } catch (const Error& e) {
      rc = -1;
      spawn_failure = e.what();
    }
  } else {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawn_file_actions_addchdir_np(&fa, p->run.work_dir.c_str());
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all_default;
    sigemptyset(&none);
    sigemptyset(&all_default);
    for (int s : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGQUIT, SIGUSR1, SIGUSR2}) sigaddset(&all_default, s);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all_default);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    for (int attempt = 0; attempt < 5; ++attempt) {
      rc = ::posix_spawn(&pid, p->run.binary_path.c_str(), &fa, &attr, argv.data(), envp.data());
      if (rc != ETXTBSY) break;  // another thread's fork briefly held a blob open for writing
      ::usleep(2000);
    }
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
  }
  ::close(in_fd);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (rc != 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    p->spawn_error = spawn_failure.empty() ? "cannot start " + job.binary + ": " + std::strerror(rc) : spawn_failure;
    p->exited = p->out_eof = p->err_eof = true;
    asio::post(m_io, [this, p] { finish(p); });
    return;
  }
  p->pid = pid;
  m_sink.job_started(job.id, pid);
  if (p->limits && m_options.limits.processes && p->limits->has_cgroup()) watch_limits(p);

  p->out.assign(out_pipe[0]);
  p->err.assign(err_pipe[0]);
  auto read_pipe = [this, p](asio::posix::stream_descriptor& d, std::array<char, 65536>& buf, bool is_out,
                             auto& self) -> void {
    d.async_read_some(asio::buffer(buf), [this, p, &d, &buf, is_out, self](const boost::system::error_code& ec,
                                                                         std::size_t n) {
      if (p->finished) return;
      if (n > 0) {
        std::string_view chunk(buf.data(), n);
        m_sink.job_output(p->run.job.id, chunk);
        if (is_out) {
          if (p->stdout_capture.size() + n <= k_max_stdout) p->stdout_capture.append(chunk);
          else p->stdout_truncated = true;
        } else {
          p->stderr_tail.append(chunk);
          if (p->stderr_tail.size() > k_stderr_tail) p->stderr_tail.erase(0, p->stderr_tail.size() - k_stderr_tail);
        }
      }
      if (ec) {
        (is_out ? p->out_eof : p->err_eof) = true;
        if (p->exited && p->out_eof && p->err_eof) finish(p);
        return;
      }
      self(d, buf, is_out, self);
    });
  };
  read_pipe(p->out, p->out_buf, true, read_pipe);
  read_pipe(p->err, p->err_buf, false, read_pipe);

  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  auto on_exit = [this, p] {
    if (p->finished) return;
    int status = 0;
    pid_t r = ::waitpid(p->pid, &status, WNOHANG);
    if (r == 0) return;  // spurious
    p->exited = true;
    p->wait_status = status;
    p->kill_timer.cancel();
    if (p->out_eof && p->err_eof) {
      finish(p);
      return;
    }
    // A child the job left behind may hold the pipes open: do not wait for it forever.
    p->drain_timer.expires_after(std::chrono::milliseconds(k_drain_ms));
    p->drain_timer.async_wait([this, p](const boost::system::error_code& ec) {
      if (!ec && !p->finished) finish(p);
    });
  };
  if (pidfd >= 0) {
    p->exit_watch.assign(pidfd);
    p->exit_watch.async_wait(asio::posix::stream_descriptor::wait_read,
                             [p, on_exit](const boost::system::error_code& ec) {
                               if (!ec) on_exit();
                             });
  } else {
    // No pidfd (old kernel): poll for the exit.
    auto poll = std::make_shared<std::function<void()>>();
    *poll = [p, on_exit, poll] {
      p->drain_timer.expires_after(std::chrono::milliseconds(5));
      p->drain_timer.async_wait([p, on_exit, poll](const boost::system::error_code& ec) {
        if (ec || p->finished) return;
        on_exit();
        if (!p->exited) (*poll)();
      });
    };
    (*poll)();
  }
}

void ExecRuntime::cancel(const std::string& job_id, const std::string& reason) {
  auto it = m_running.find(job_id);
  if (it == m_running.end()) return;
  auto p = it->second;
  if (!p->cancel_reason.empty() || p->exited) return;
  p->cancel_reason = reason.empty() ? end_reason::k_user : reason;
  if (p->pid > 0) ::kill(-p->pid, SIGTERM);
  p->kill_timer.expires_after(std::chrono::milliseconds(static_cast<long>(m_options.kill_grace_s * 1000)));
  p->kill_timer.async_wait([p](const boost::system::error_code& ec) {
    if (!ec && !p->exited && p->pid > 0) ::kill(-p->pid, SIGKILL);
  });
}

// A fork bomb under limits.processes is refused forks, not killed: once its pids cgroup has refused one,
// every process of the job is killed and the job ends ERROR with that cause.
void ExecRuntime::watch_limits(const std::shared_ptr<Process>& p) {
  p->limit_watch.expires_after(std::chrono::milliseconds(k_limit_watch_ms));
  p->limit_watch.async_wait([this, p](const boost::system::error_code& ec) {
    if (ec || p->finished || p->exited) return;
    if (p->limits->processes_hit()) {
      p->limit_hit = p->limits->exceeded();
      spdlog::warn("job {}: {}: killing its processes", p->run.job.id, p->limit_hit);
      p->limits->kill_all();
      return;
    }
    watch_limits(p);
  });
}

void ExecRuntime::finish(const std::shared_ptr<Process>& p) {
  if (p->finished) return;
  p->finished = true;
  p->limit_watch.cancel();
  if (p->limits && p->limit_hit.empty()) p->limit_hit = p->limits->exceeded();
  boost::system::error_code ec;
  p->out.close(ec);
  p->err.close(ec);
  p->exit_watch.close(ec);
  p->kill_timer.cancel();
  p->drain_timer.cancel();
  const JobInfo& job = p->run.job;
  if (!p->cancel_reason.empty() && p->pid > 0) ::kill(-p->pid, SIGKILL);  // leave nothing of a killed job behind

  JobOutcome o;
  const int st = p->wait_status;
  if (!p->spawn_error.empty()) {
    o.state = job_state::k_error;
    o.error = {{"message", p->spawn_error}, {"errorClass", "sjs.SpawnError"}, {"stack", nlohmann::json::array()}};
  } else {
    if (WIFEXITED(st)) o.exit_status = WEXITSTATUS(st);
    if (WIFSIGNALED(st)) o.signal = WTERMSIG(st);
    if (!p->cancel_reason.empty()) {
      o.state = job_state::k_killed;
      o.end_reason = p->cancel_reason;
      std::string msg = "Job " + job.id + " killed";
      if (p->cancel_reason == end_reason::k_timeout) {
        msg = "job exceeded its timeout of " + nlohmann::json(job.timeout_s).dump() + " s and was killed";
      } else if (p->cancel_reason == end_reason::k_shutdown) {
        msg = "job killed: sjsd shut down before it ended";
      }
      o.error = {{"message", msg}, {"errorClass", "sjs.JobKilled"}, {"stack", nlohmann::json::array()}};
    } else if (!p->limit_hit.empty()) {
      // The kernel killed it (memory) or sjsd did (processes): the cause, not the bare signal.
      o.state = job_state::k_error;
      o.error = {{"message", "the job " + p->limit_hit + " (" + describe_wait_status(st) + ")"},
                 {"errorClass", "sjs.LimitExceeded"},
                 {"stack", tail_lines(p->stderr_tail, 20)}};
    } else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
      o.state = job_state::k_finished;
      o.has_result = true;
      std::string result_path = p->run.work_dir + "/result.json";
      std::string text;
      bool from_file = false;
      try {
        text = read_file(result_path);
        from_file = true;
      } catch (const Error&) {
      }
      if (from_file) {
        o.result = parse_output(text);
      } else if (p->stdout_truncated) {
        // A chatty job that succeeded: its output is in its log; it has no result.
        o.has_result = false;
        o.warning = "[sjs] warning: the job printed over " + std::to_string(k_max_stdout >> 20) +
                    " MiB, too much to be its result: it has none (its output is in this log; a job writes "
                    "its result to $SJS_RESULT)\n";
      } else {
        o.result = p->stdout_capture.empty() ? nlohmann::json() : parse_output(p->stdout_capture);
        o.result_is_stdout = true;
      }
    } else {
      o.state = job_state::k_error;
      std::string msg = WIFSIGNALED(st) ? "job process was killed by " + signal_name(WTERMSIG(st))
                                        : "job process exited with status " + std::to_string(WEXITSTATUS(st));
      o.error = {{"message", msg},
                 {"errorClass", WIFSIGNALED(st) ? "sjs.Signal" : "sjs.ExitStatus"},
                 {"stack", tail_lines(p->stderr_tail, 20)}};
    }
  }
  // Removing the scratch dir is file-system work: off the core thread.
  auto remove = [dir = p->run.work_dir] {
    std::error_code fec;
    std::filesystem::remove_all(dir, fec);
  };
  if (m_options.background) m_options.background(std::move(remove));
  else remove();
  p->limits.reset();  // kills what is left of the job in its cgroups and removes them
  m_running.erase(job.id);
  m_sink.job_ended(job.id, std::move(o));
}

}  // namespace sjs

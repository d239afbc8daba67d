#include "runtimes/worker_runtime.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "runtimes/process.hpp"
#include "sjs/errors.hpp"
#include "sjs/framing.hpp"
#include "sjs/util.hpp"
#include "sjs/worker_protocol.hpp"

namespace sjs {

namespace asio = boost::asio;

struct WorkerRuntime::Worker {
  explicit Worker(asio::io_context& io) : channel(io), exit_watch(io), start_timer(io), stop_timer(io) {}
  WorkerRuntime* owner = nullptr;  // cleared when the runtime goes away first
  pid_t pid = -1;
  asio::local::stream_protocol::socket channel;
  asio::posix::stream_descriptor exit_watch;
  asio::steady_timer start_timer, stop_timer;
  FrameDecoder decoder;
  std::array<char, 65536> buf{};
  std::deque<std::string> out;
  bool writing = false;
  bool exited = false;
  bool abandoned = false;  // the daemon gave up on it (start timeout, protocol violation): its frames are ignored
};

namespace {

// The last lines of a log file, to say why a worker would not start.
std::string log_tail(const std::string& path, std::size_t max_bytes = 2048) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  off_t size = ::lseek(fd, 0, SEEK_END);
  off_t from = size > static_cast<off_t>(max_bytes) ? size - static_cast<off_t>(max_bytes) : 0;
  std::string text(static_cast<std::size_t>(size - from), '\0');
  ssize_t n = ::pread(fd, text.data(), text.size(), from);
  ::close(fd);
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

WorkerRuntime::WorkerRuntime(asio::io_context& io, JobSink& sink, const RuntimeOptions& options, std::string name,
                             Launch launch)
    : m_io(io),
      m_sink(sink),
      m_options(options),
      m_name(std::move(name)),
      m_launch(std::move(launch)) {}

WorkerRuntime::~WorkerRuntime() {
  if (!m_worker) return;
  m_worker->owner = nullptr;
  if (!m_worker->exited && m_worker->pid > 0) ::kill(-m_worker->pid, SIGKILL);
  boost::system::error_code ec;
  m_worker->channel.close(ec);
  m_worker->exit_watch.close(ec);
  m_worker->start_timer.cancel();
  m_worker->stop_timer.cancel();
}

void WorkerRuntime::start(std::function<void(const std::string&)> ready) {
  m_on_ready = std::move(ready);
  m_ready = false;
  m_stopping = false;
  m_violation.clear();
  auto w = std::make_shared<Worker>(m_io);
  w->owner = this;
  m_worker = w;

  int sv[2];
  int log_fd = ::open(m_options.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    if (log_fd >= 0) ::close(log_fd);
    auto cb = std::move(m_on_ready);
    asio::post(m_io, [cb, e = std::string(std::strerror(errno))] { cb("socketpair failed: " + e); });
    return;
  }
  SpawnSpec spec;
  spec.path = m_launch.path;
  spec.argv = m_launch.argv;
  spec.env = child_environment(m_launch.env);
  spec.stdout_fd = log_fd;
  spec.stderr_fd = log_fd;
  spec.fd3 = sv[1];
  m_limits.reset();  // the last worker's cgroups go with it
  if (m_options.limits.any()) {
    m_limits = std::make_unique<LimitedTree>(m_options.limits, m_options.context_name,
                                             "worker-" + std::to_string(++m_starts));
    spec.limits = m_limits->setup();
  }
  try {
    w->pid = spawn_process(spec);
  } catch (const Error& e) {
    ::close(sv[0]);
    ::close(sv[1]);
    if (log_fd >= 0) ::close(log_fd);
    w->exited = true;
    auto cb = std::move(m_on_ready);
    asio::post(m_io, [cb, msg = std::string(e.what())] { cb(msg); });
    return;
  }
  ::close(sv[1]);
  if (log_fd >= 0) ::close(log_fd);
  m_pid = w->pid;
  spdlog::info("context {}: started {} worker (pid {})", m_options.context_name, m_name, w->pid);
  w->channel.assign(asio::local::stream_protocol(), sv[0]);

  // Read frames from the worker.
  auto read = std::make_shared<std::function<void()>>();
  *read = [w, read] {
    w->channel.async_read_some(asio::buffer(w->buf), [w, read](const boost::system::error_code& ec, std::size_t n) {
      if (!w->owner) return;
      if (ec) return;  // the exit watch reports the death
      std::string payload;
      for (;;) {
        try {
          if (w->abandoned) return;
          if (n > 0) w->decoder.feed(w->buf.data(), n);
          n = 0;
          if (!w->decoder.next(payload)) break;
        } catch (const Error& e) {  // a length over the limit: the stream cannot be resynchronised
          w->owner->protocol_violation(std::string("the worker sent a garbled frame: ") + e.what());
          return;
        }
        w->owner->on_frame(payload);
        if (!w->owner) return;
      }
      (*read)();
    });
  };
  (*read)();

  auto on_exit = [w] {
    if (w->exited) return;
    int status = 0;
    if (::waitpid(w->pid, &status, WNOHANG) == 0) return;
    w->exited = true;
    if (w->owner) w->owner->on_exit(describe_wait_status(status));
  };
  int pidfd = open_pidfd(w->pid);
  if (pidfd >= 0) {
    w->exit_watch.assign(pidfd);
    w->exit_watch.async_wait(asio::posix::stream_descriptor::wait_read, [w, on_exit](const boost::system::error_code& ec) {
      if (!ec) on_exit();
    });
  }

  w->start_timer.expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(m_options.start_timeout_s * 1000)));
  w->start_timer.async_wait([w, this](const boost::system::error_code& ec) {
    if (ec || !w->owner || m_ready || w->exited || w->abandoned) return;
    spdlog::error("context {}: worker did not start within {} s", m_options.context_name, m_options.start_timeout_s);
    auto cb = std::move(m_on_ready);
    m_on_ready = nullptr;
    w->abandoned = true;
    kill_worker(SIGKILL);
    if (cb) cb("the worker did not start within " + nlohmann::json(m_options.start_timeout_s).dump() + " s");
  });
}

void WorkerRuntime::send(const worker::ToWorker& msg) {
  auto w = m_worker;
  if (!w || w->exited) return;
  w->out.push_back(encode_frame(worker::encode(msg).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
  if (w->writing) return;
  auto write = std::make_shared<std::function<void()>>();
  *write = [w, write] {
    if (w->out.empty()) {
      w->writing = false;
      return;
    }
    w->writing = true;
    asio::async_write(w->channel, asio::buffer(w->out.front()), [w, write](const boost::system::error_code& ec, std::size_t) {
      if (ec) {
        w->writing = false;
        w->out.clear();
        return;
      }
      w->out.pop_front();
      (*write)();
    });
  };
  (*write)();
}

void WorkerRuntime::kill_worker(int sig) {
  if (m_worker && !m_worker->exited && m_worker->pid > 0) ::kill(-m_worker->pid, sig);
}

void WorkerRuntime::on_frame(const std::string& payload) {
  if (m_worker->abandoned) return;
  worker::FromWorker msg;
  try {
    // Until its hello, the worker has not said which protocol it speaks: check that first.
    if (m_ready) msg = worker::decode_frame(payload);
    else msg = worker::check_hello_frame(payload);
  } catch (const Error& e) {
    protocol_violation(e.what());
    return;
  }
  std::visit([this](const auto& m) { on_message(m); }, msg);
}

void WorkerRuntime::protocol_violation(const std::string& why) {
  if (m_worker->abandoned) return;
  m_worker->abandoned = true;
  spdlog::error("context {}: the {} worker (pid {}) broke the worker protocol: {}: killing it", m_options.context_name,
                m_name, m_pid, why);
  if (m_ready) {
    m_violation = why;  // on_exit ends its jobs and reports the context's death with this reason
    kill_worker(SIGKILL);
    return;
  }
  // Still starting: a failed start, with why.
  m_worker->start_timer.cancel();
  auto cb = std::move(m_on_ready);
  m_on_ready = nullptr;
  kill_worker(SIGKILL);
  if (cb) cb(why);
}

void WorkerRuntime::on_message(const worker::Hello& m) {
  if (m_ready) {
    spdlog::warn("context {}: the worker said hello again: ignored", m_options.context_name);
    return;
  }
  m_ready = true;
  m_worker->start_timer.cancel();
  spdlog::info("context {}: {} worker ready: {}", m_options.context_name, m_name, nlohmann::json(m).dump());
  auto cb = std::move(m_on_ready);
  m_on_ready = nullptr;
  if (cb) cb("");
}

void WorkerRuntime::on_message(const worker::ObjectsAnswer& m) {
  auto it = m_object_requests.find(m.id);
  if (it == m_object_requests.end()) return;
  auto cb = std::move(it->second);
  m_object_requests.erase(it);
  cb(m.names, "");
}

void WorkerRuntime::on_message(const worker::ErrorReport& m) {
  spdlog::warn("context {}: worker reports: {}", m_options.context_name, m.message);
}

// Events about a job the runtime no longer runs (it ended, or never ran here) are dropped.
void WorkerRuntime::on_message(const worker::Started& m) {
  if (m_jobs.count(m.job)) m_sink.job_started(m.job, m_pid);
}

void WorkerRuntime::on_message(const worker::Log& m) {
  if (m_jobs.count(m.job)) m_sink.job_output(m.job, m.data + "\n");
}

void WorkerRuntime::on_message(const worker::Progress& m) {
  if (!m_jobs.count(m.job)) return;
  char line[64];
  std::snprintf(line, sizeof line, "[progress %.0f%%] ", m.value * 100);
  m_sink.job_output(m.job, line + m.message + "\n");
}

void WorkerRuntime::on_message(const worker::Finished& m) {
  JobOutcome o;
  o.state = job_state::k_finished;
  o.has_result = true;
  o.result = m.result;
  end_job(m.job, std::move(o));
}

void WorkerRuntime::on_message(const worker::Failed& m) {
  auto it = m_jobs.find(m.job);
  if (it == m_jobs.end()) return;
  JobOutcome o;
  o.error = m.error;
  const std::string& reason = it->second.cancel_reason;
  if (m.kind == worker::FailureKind::killed || !reason.empty()) {
    o.state = job_state::k_killed;
    o.end_reason = reason.empty() ? end_reason::k_user : reason;
  } else {
    o.state = job_state::k_error;
    if (m.kind == worker::FailureKind::validation) o.end_reason = end_reason::k_validation;
    if (m.kind == worker::FailureKind::loading) o.end_reason = end_reason::k_loading;
  }
  end_job(m.job, std::move(o));
}

// A job's one end: finished or failed.
void WorkerRuntime::end_job(const std::string& job_id, JobOutcome outcome) {
  if (!m_jobs.erase(job_id)) return;
  m_sink.job_ended(job_id, std::move(outcome));
}

void WorkerRuntime::on_exit(const std::string& status) {
  // A worker the kernel killed for limits.memory: its jobs end with that cause, not a bare SIGKILL.
  const std::string limit_hit = m_limits ? m_limits->exceeded() : "";
  const std::string why = !m_violation.empty() ? "broke the worker protocol (" + m_violation + ") and was killed"
                          : !limit_hit.empty() ? limit_hit + " (" + status + ")"
                                               : status;
  boost::system::error_code ec;
  m_worker->channel.close(ec);
  m_worker->start_timer.cancel();
  m_worker->stop_timer.cancel();
  const bool was_ready = m_ready;
  m_ready = false;
  spdlog::log(m_stopping ? spdlog::level::info : spdlog::level::warn, "context {}: worker (pid {}) {}",
              m_options.context_name, m_pid, why);
  if (m_on_ready) {
    auto cb = std::move(m_on_ready);
    m_on_ready = nullptr;
    std::string tail = log_tail(m_options.log_path);
    cb("the worker " + why + (tail.empty() ? "" : ": " + tail));
  }
  // The owner hears of the death first: ending a job frees its slot, and a context still marked
  // ready would hand a queued job to this dead worker at once (it would end ERROR,
  // sjs.ContextNotRunning, instead of waiting for the restart; found by tests/torture).
  if (!m_stopping && was_ready) m_sink.runtime_died(*this, "its worker " + why);
  auto jobs = std::move(m_jobs);
  m_jobs.clear();
  for (auto& [id, job] : jobs) {
    JobOutcome o;
    if (!job.cancel_reason.empty()) {
      o.state = job_state::k_killed;
      o.end_reason = job.cancel_reason;
      o.error = job_error("Job " + id + " killed (its context was restarted to stop it)", "sjs.JobKilled");
    } else {
      o.state = job_state::k_error;
      o.error = job_error("context " + m_options.context_name + " died: its worker " + why, "sjs.ContextDied");
    }
    m_sink.job_ended(id, std::move(o));
  }
  auto requests = std::move(m_object_requests);
  m_object_requests.clear();
  for (auto& [id, cb] : requests) cb({}, "the context's worker " + why);
  if (m_stopping) {
    auto cb = std::move(m_on_stopped);
    m_on_stopped = nullptr;
    if (cb) cb();
  }
}

void WorkerRuntime::run(JobRun run) {
  const std::string id = run.job.id;
  m_jobs[id] = RunningJob{};
  if (!m_worker || m_worker->exited || !m_ready) {
    asio::post(m_io, [this, id] {
      if (!m_jobs.erase(id)) return;
      JobOutcome o;
      o.state = job_state::k_error;
      o.error = job_error("context " + m_options.context_name + " is not running", "sjs.ContextNotRunning");
      m_sink.job_ended(id, std::move(o));
    });
    return;
  }
  worker::Run msg;
  msg.job = id;
  msg.entry = run.job.entry;
  for (const auto& b : run.binaries) msg.binaries.push_back({b.name, b.version, b.sha256, b.path});
  msg.config = run.config.is_object() ? std::move(run.config) : nlohmann::json::object();
  msg.context = m_options.context_name;
  msg.steps = run.job.steps;
  msg.cluster_token = std::move(run.cluster_token);
  send(msg);
}

void WorkerRuntime::cancel(const std::string& job_id, const std::string& reason) {
  auto it = m_jobs.find(job_id);
  if (it == m_jobs.end() || !it->second.cancel_reason.empty()) return;
  it->second.cancel_reason = reason.empty() ? end_reason::k_user : reason;
  send(worker::Cancel{job_id});
  auto timer = std::make_unique<asio::steady_timer>(m_io);
  timer->expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(m_options.kill_grace_s * 1000)));
  auto w = m_worker;
  timer->async_wait([this, w, job_id](const boost::system::error_code& ec) {
    if (ec || !w->owner || !m_jobs.count(job_id)) return;
    spdlog::warn("context {}: job {} ignored its kill for {} s: restarting the context", m_options.context_name, job_id,
                 m_options.kill_grace_s);
    kill_worker(SIGKILL);
  });
  it->second.kill_timer = std::move(timer);
}

void WorkerRuntime::stop(std::function<void()> stopped) {
  m_stopping = true;
  if (!m_worker || m_worker->exited) {
    stopped();
    return;
  }
  m_on_stopped = std::move(stopped);
  send(worker::Shutdown{});
  auto w = m_worker;
  const auto grace = std::chrono::milliseconds(static_cast<std::int64_t>(m_options.kill_grace_s * 1000));
  w->stop_timer.expires_after(grace);
  w->stop_timer.async_wait([this, w, grace](const boost::system::error_code& ec) {
    if (ec || !w->owner || w->exited) return;
    kill_worker(SIGTERM);
    w->stop_timer.expires_after(grace);
    w->stop_timer.async_wait([this, w](const boost::system::error_code& ec2) {
      if (!ec2 && w->owner && !w->exited) kill_worker(SIGKILL);
    });
  });
}

void WorkerRuntime::list_objects(std::function<void(std::vector<std::string>, const std::string&)> done) {
  if (!m_worker || m_worker->exited || !m_ready) {
    done({}, "context " + m_options.context_name + " is not running");
    return;
  }
  const std::uint64_t id = m_next_request++;
  m_object_requests[id] = std::move(done);
  send(worker::ObjectsRequest{id});
}

}  // namespace sjs

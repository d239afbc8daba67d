// The job table's life cycle of a job: submit, queue, start, end. Repair and requeue at start are in
// job_recovery.cpp; queries (status, list, log, wait, kill) in job_queries.cpp.
#include "job_table.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "sjs/errors.hpp"
#include "sjs/runtimes.hpp"
#include "sjs/util.hpp"

namespace sjs {

namespace asio = boost::asio;

namespace {

// An ad-hoc context's settings: its job config's `spark.context-settings` block
// (spark-jobserver's way to size the context of an ad-hoc job), else none.
nlohmann::json adhoc_settings(const nlohmann::json& config) {
  if (!config.is_object()) return nlohmann::json::object();
  auto spark = config.find("spark");
  if (spark == config.end() || !spark->is_object()) return nlohmann::json::object();
  auto settings = spark->find("context-settings");
  if (settings == spark->end() || !settings->is_object()) return nlohmann::json::object();
  return *settings;
}

JobOutcome killed(const std::string& message) {
  return JobOutcome{job_state::k_killed, {}, false, job_error(message, "sjs.JobKilled"), -1, 0, end_reason::k_user, false, ""};
}

}  // namespace

JobTable::JobTable(asio::io_context& io, store::Store& store, const DaemonConfig& config, BinaryCatalog& binaries,
                   ContextManager& contexts, JobEvents& events)
    : m_io(io),
      m_store(store),
      m_config(config),
      m_binaries(binaries),
      m_contexts(contexts),
      m_events(events),
      m_adhoc(config.adhoc_max_jobs) {}

JobTable::~JobTable() {
  for (auto& [id, job] : m_live) {
    if (job->log_fd >= 0) ::close(job->log_fd);
  }
}

std::string JobTable::log_path(const std::string& job_id) const {
  return m_config.data_dir + "/logs/" + job_id + ".log";
}

JobTable::LiveJob* JobTable::live(const std::string& id) {
  auto it = m_live.find(id);
  return it == m_live.end() ? nullptr : it->second.get();
}

// ---- submit ---------------------------------------------------------------------

std::string JobTable::existing_for_key(const std::string& key) const {
  if (auto it = m_pending_keys.find(key); it != m_pending_keys.end()) return it->second;
  if (auto id = m_store.job_id_by_key(key)) return *id;
  return "";
}

void JobTable::place(const JobSubmitArgs& args, const BinaryInfo& binary, JobInfo& j) {
  if (!args.context.empty()) {
    Context& ctx = m_contexts.named(args.context);
    if (ctx.info.state == context_state::k_stopping) {
      throw Error(ErrorCode::in_use, "context \"" + args.context + "\" is stopping", {{"context", args.context}});
    }
    if (!ctx.runtime || !ctx.runtime->accepts(binary.type)) {
      throw Error(ErrorCode::bad_request,
                  "Invalid job type for this context: context \"" + args.context + "\" runs " + ctx.info.runtime +
                      ", binary \"" + binary.name + "\" is " + binary.type,
                  {{"context", args.context}, {"binary", binary.name}, {"reason", "wrong_type"}});
    }
    int bound = ctx.info.settings.value("max-queue", 0);
    if (bound > 0 && ctx.queue.queued() >= static_cast<std::size_t>(bound)) {
      throw Error(ErrorCode::busy, "context \"" + args.context + "\" already has " + std::to_string(bound) +
                                       " queued jobs (its max-queue): try again later",
                  {{"context", args.context}});
    }
    j.context = args.context;
    j.runtime = ctx.info.runtime;
    j.adhoc = false;
    return;
  }
  j.runtime = default_runtime_for(binary.type, m_config.launch);
  if (!is_known_runtime(j.runtime)) {
    throw Error(ErrorCode::bad_request, "binary \"" + binary.name + "\" is " + binary.type + " and its runtime " +
                                            j.runtime + " is not available in this sjsd",
                {{"binary", binary.name}, {"reason", "no_runtime"}});
  }
  if (m_config.adhoc_max_queue > 0 && m_adhoc.queued() >= static_cast<std::size_t>(m_config.adhoc_max_queue)) {
    throw Error(ErrorCode::busy, "already " + std::to_string(m_config.adhoc_max_queue) +
                                     " ad-hoc jobs are queued (adhoc.max-queue): try again later");
  }
  const std::string base = args.entry.empty() ? binary.name : args.entry;
  j.context = make_time_uuid() + "-" + base.substr(0, 64);
  j.adhoc = true;
}

// A pipeline's shape, before anything is stored: the worker checks the steps themselves against the
// library (names, argument counts) before running any.
void JobTable::check_steps(const JobSubmitArgs& args) {
  const nlohmann::json& steps = args.steps;
  const std::string example = " e.g. --steps '[[\"load_text\", \"/data/in.txt\"], [\"words\"]]'";
  if (!args.entry.empty()) {
    throw Error(ErrorCode::usage, "a pipeline has no ENTRY: give either ENTRY or --steps, not both");
  }
  if (!steps.is_array() || steps.empty()) {
    throw Error(ErrorCode::bad_request, "--steps must be a non-empty JSON array of steps," + example);
  }
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto& s = steps[i];
    if (!s.is_array() || s.empty() || !s[0].is_string() || s[0].get<std::string>().empty()) {
      throw Error(ErrorCode::bad_request, "step " + std::to_string(i + 1) + " of --steps is " + s.dump().substr(0, 80) +
                                              ": each step must be an array of the step's name, then its arguments," +
                                              example);
    }
  }
}

void JobTable::submit(const JobSubmitArgs& args, Reply<JobResult> reply) {
  if (m_shutting_down) throw Error(ErrorCode::unavailable, "sjsd is shutting down: submit again once it is back");
  if (!args.config.is_object()) throw Error(ErrorCode::bad_request, "job config must be a JSON object");
  if (args.timeout_s < 0) throw Error(ErrorCode::bad_request, "--timeout must be >= 0 seconds");
  if (args.wait_timeout_s < 0) throw Error(ErrorCode::bad_request, "--wait-timeout must be >= 0 seconds");
  if (!args.callback_url.empty()) {
    if (!m_callback_check) throw Error(ErrorCode::bad_request, "callbacks are not available in this sjsd");
    m_callback_check(args.callback_url);  // throws bad_request saying what is wrong
  }

  // Idempotency: the same key answers with the job it first created.
  if (!args.key.empty()) {
    if (args.key.size() > 256) throw Error(ErrorCode::bad_request, "--key is longer than 256 characters");
    const std::string existing = existing_for_key(args.key);
    if (!existing.empty()) {
      JobInfo job = find(existing);
      LiveJob* l = live(existing);
      if (args.sync && l && !l->final_pending && !is_final_job_state(job.state)) {
        add_waiter(*l, args.wait_timeout_s, Reply<JobResult>{[reply](JobResult r) {
                                                                r.existing = true;
                                                                reply.ok(std::move(r));
                                                              },
                                                              reply.fail});
        return;
      }
      JobResult r = result_for(job, args.sync);
      r.existing = true;
      reply.ok(std::move(r));
      return;
    }
  }

  check_disk_room(m_config.data_dir);  // a key already used still answers with its job
  const bool pipeline = !args.steps.is_null();
  if (pipeline) check_steps(args);
  BinaryInfo binary = m_binaries.latest(args.binary);
  if (args.entry.empty() && !pipeline) {
    if (std::string why = missing_entry_message(binary.type, binary.name); !why.empty()) {
      throw Error(ErrorCode::usage, why);
    }
  }
  std::vector<BinaryRef> dependencies;
  std::vector<std::string> dependency_types;
  for (const auto& name : args.with) {
    BinaryInfo dep = m_binaries.latest(name);
    dependencies.push_back(BinaryRef{dep.name, dep.version, dep.sha256, ""});
    dependency_types.push_back(dep.type);
  }

  auto entry = std::make_unique<LiveJob>();
  LiveJob& l = *entry;
  JobInfo& j = l.info;
  place(args, binary, j);
  // Dependencies the job's runtime can use with its binary: jars with a jar, Python with Python.
  for (std::size_t i = 0; i < dependencies.size(); ++i) {
    const RuntimeSpec* spec = find_runtime(j.runtime);
    if (!spec || !runs(*spec, dependency_types[i])) {
      throw Error(ErrorCode::bad_request,
                  "--with " + dependencies[i].name + ": it is " + dependency_types[i] + ", and the job's " + j.runtime +
                      " runtime runs " + list_words(spec ? spec->binary_types : std::vector<std::string>{}),
                  {{"binary", dependencies[i].name}});
    }
  }
  if (pipeline) {
    const RuntimeSpec* spec = find_runtime(j.runtime);
    if (!spec || !has_capability(*spec, runtime_cap::k_steps)) {
      throw Error(ErrorCode::bad_request, "binary \"" + binary.name + "\" is " + binary.type + " and runs on the " +
                                              j.runtime + " runtime, which has no step pipelines: --steps needs a " +
                                              "step library (py, wheel, egg or jar) on a " +
                                              list_words(runtimes_with(runtime_cap::k_steps)) + " context",
                  {{"binary", binary.name}});
    }
    j.steps = args.steps;
  }
  l.config = args.config;
  l.sha256 = binary.sha256;
  l.dependencies = dependencies;
  j.id = make_time_uuid();
  j.seq = ++m_seq;
  j.binary = binary.name;
  j.binary_version = binary.version;
  j.binary_type = binary.type;
  j.entry = args.entry;
  j.args = args.args;
  for (const auto& d : dependencies) j.dependencies.push_back(d.name + ":" + std::to_string(d.version));
  j.state = job_state::k_queued;
  j.priority = args.priority;
  j.key = args.key;
  j.timeout_s = args.timeout_s;
  j.callback_url = args.callback_url;
  j.submitted_ms = now_ms();
  const std::string id = j.id;
  m_live[id] = std::move(entry);
  if (!args.key.empty()) m_pending_keys[args.key] = id;

  const bool sync = args.sync;
  const double wait_timeout = args.wait_timeout_s;
  m_store.put_job(j, &l.config, nullptr, [this, id, key = args.key, sync, wait_timeout, reply](const store::WriteError& error) {
    if (!key.empty()) m_pending_keys.erase(key);
    LiveJob* job = live(id);
    if (!job) return reply.fail(Error(ErrorCode::internal, "job " + id + " vanished"));
    if (!error.empty()) {
      m_live.erase(id);
      return reply.fail(error.to_error("could not record the job"));
    }
    // Durable now: acknowledge, then queue it.
    if (sync) add_waiter(*job, wait_timeout, reply);
    else reply.ok(result_for(job->info, false));
    enqueue(*job);
  });
}

// ---- queues ---------------------------------------------------------------------

void JobTable::enqueue(LiveJob& job) {
  if (job.info.adhoc) {
    m_adhoc.push(job.info.id, job.info.priority, job.info.seq);
    pump_adhoc();
    return;
  }
  Context* ctx = m_contexts.find(job.info.context);
  if (!ctx) return;
  ctx->queue.push(job.info.id, job.info.priority, job.info.seq);
  pump(job.info.context);
}

void JobTable::pump(const std::string& context) {
  Context* ctx = m_contexts.find(context);
  if (m_shutting_down || !ctx || !ctx->ready || ctx->info.state != context_state::k_running) return;
  while (auto id = ctx->queue.take()) {
    LiveJob* job = live(*id);
    if (!job) {
      ctx->queue.release();
      continue;
    }
    start_job(*job, *ctx);
  }
}

void JobTable::pump_adhoc() {
  if (m_shutting_down) return;
  while (auto id = m_adhoc.take()) {
    LiveJob* job = live(*id);
    if (!job) {
      m_adhoc.release();
      continue;
    }
    m_contexts.start_adhoc(job->info.context, job->info.runtime, adhoc_settings(job->config), log_path(*id),
                           [this, job_id = *id](const std::string& error) { adhoc_started(job_id, error); });
  }
}

void JobTable::adhoc_started(const std::string& job_id, const std::string& error) {
  LiveJob* job = live(job_id);
  Context* ctx = job ? m_contexts.find(job->info.context) : nullptr;
  if (error.empty() && ctx && !job->kill_requested) {
    start_job(*job, *ctx);
    return;
  }
  // The context could not start, or the job was killed meanwhile: end it, drop the context.
  m_adhoc.release();
  if (job) {
    const std::string context = job->info.context;
    end_live_job(*job, job->kill_requested ? killed("Job " + job_id + " killed")
                                           : JobOutcome{job_state::k_error, {}, false,
                                                        job_error("ad-hoc context failed to start: " + error,
                                                                  "sjs.ContextInitError"),
                                                        -1, 0, "", false, ""});
    m_contexts.end_adhoc(context, error);
  }
  asio::post(m_io, [this] { pump_adhoc(); });
}

// At most once: the job is committed RUNNING before its process (or worker task) starts. A daemon
// that dies in between leaves it RUNNING in the store, which the next start records as ERROR
// (daemon_restart); left QUEUED, as before, the next daemon ran it a second time (crash torture,
// tests/torture). It costs one commit (group-committed with others) before each start.
void JobTable::start_job(LiveJob& job, Context& ctx) {
  ctx.running.insert(job.info.id);
  job.info.started_ms = now_ms();
  job.info.state = job_state::k_running;
  job.info.pid = 0;
  m_store.put_job(job.info, nullptr, nullptr,
                  [this, id = job.info.id, context = job.info.context, run = ctx.info.id](const std::string& error) {
                    launch(id, context, run, error);
                  });
}

// The commit of RUNNING is done. The runtime never knew the job until now, so a kill, a stop or
// restart of its context (a new run id), or a shutdown that came meanwhile could not reach it: such
// a job ends here, KILLED, without running.
void JobTable::launch(const std::string& id, const std::string& context, const std::string& context_run,
                      const std::string& error) {
  LiveJob* found = live(id);
  if (!found || found->final_pending) return;
  LiveJob& job = *found;
  Context* ctx = m_contexts.find(context);
  const bool ctx_ok = ctx && ctx->runtime && ctx->info.id == context_run && ctx->running.count(id) &&
                      ctx->info.state == context_state::k_running;
  if (!error.empty()) {
    spdlog::error("job {}: could not record its start: {}", id, error);
    job_ended(id, JobOutcome{job_state::k_error, {}, false,
                             job_error("could not record the job's start: " + error, "sjs.StoreError"), -1, 0, "",
                             false, ""});
    return;
  }
  if (job.kill_requested || m_shutting_down || !ctx_ok) {
    JobOutcome o = killed("Job " + id + " killed before it started");
    if (m_shutting_down) {
      o.end_reason = end_reason::k_shutdown;
    } else if (!job.kill_requested) {  // its context stopped, restarted or died meanwhile
      o = JobOutcome{job_state::k_error, {}, false,
                     job_error("context " + context + " stopped or restarted before job " + id + " could start",
                               "sjs.ContextDied"),
                     -1, 0, "", false, ""};
    }
    job_ended(id, std::move(o));  // frees its slot, or ends its ad-hoc context
    return;
  }
  if (job.info.timeout_s > 0) {
    job.timeout = std::make_unique<asio::steady_timer>(m_io);
    job.timeout->expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(job.info.timeout_s * 1000)));
    job.timeout->async_wait([this, id = job.info.id](const boost::system::error_code& ec) {
      if (!ec) on_timeout(id);
    });
  }
  JobRun run;
  run.job = job.info;
  run.binary_path = m_binaries.path_for(job.sha256);
  run.binaries.push_back(BinaryRef{job.info.binary, job.info.binary_version, job.sha256, run.binary_path});
  for (auto dep : job.dependencies) {
    dep.path = m_binaries.path_for(dep.sha256);
    run.binaries.push_back(std::move(dep));
  }
  run.config = job.config;
  run.work_dir = m_config.data_dir + "/run/" + job.info.id;
  if (m_cluster_token && job.info.runtime != "exec") run.cluster_token = m_cluster_token(job.info.id);
  ctx->runtime->run(std::move(run));
}

void JobTable::job_cluster(const std::string& job_id, const worker::FromWorker& msg) {
  LiveJob* job = live(job_id);
  if (job && m_cluster_message) m_cluster_message(job->info, msg);
}

void JobTable::send_to_worker(const std::string& job_id, const worker::ToWorker& msg) {
  LiveJob* job = live(job_id);
  if (!job || job->info.state != job_state::k_running) return;
  Context* ctx = m_contexts.find(job->info.context);
  if (ctx && ctx->runtime) ctx->runtime->send_cluster(msg);
}

// The timer holds only the job id: the job may have ended and its (ad-hoc) context may be gone
// by the time its handler runs.
void JobTable::on_timeout(const std::string& id) {
  LiveJob* job = live(id);
  if (!job || job->final_pending) return;
  Context* ctx = m_contexts.find(job->info.context);
  if (!ctx || !ctx->running.count(id) || !ctx->runtime) return;
  spdlog::info("job {} ran past its timeout: killing it", id);
  ctx->runtime->cancel(id, end_reason::k_timeout);
}

// ---- events from runtimes ----------------------------------------------------------

void JobTable::job_started(const std::string& job_id, int pid) {
  LiveJob* job = live(job_id);
  if (!job) return;
  JobInfo& j = job->info;
  j.state = job_state::k_running;
  j.pid = pid;
  m_store.put_job(j, nullptr, nullptr, [this, snapshot = j](const std::string& error) {
    if (error.empty()) m_events.publish_started(snapshot);
  });
}

void JobTable::job_output(const std::string& job_id, std::string_view data) {
  LiveJob* job = live(job_id);
  if (!job) return;
  // A job's log is capped (logs.max-bytes-per-job): past it, output is counted and dropped, never
  // buffered, so a flood neither blocks the job nor grows the daemon.
  const std::uint64_t cap = m_config.logs_max_bytes_per_job;
  if (cap > 0 && job->log_kept >= cap) {
    job->log_dropped += data.size();
    return;
  }
  std::string_view kept = data;
  if (cap > 0 && job->log_kept + data.size() > cap) {
    kept = data.substr(0, static_cast<std::size_t>(cap - job->log_kept));
    job->log_dropped += data.size() - kept.size();
  }
  job->log_kept += kept.size();
  append_log(*job, kept);
  if (kept.size() < data.size()) {
    append_log(*job, "\n[sjs: this job's log reached logs.max-bytes-per-job (" + std::to_string(cap) +
                         " bytes): its further output is dropped]\n");
  }
}

void JobTable::append_log(LiveJob& job, std::string_view data) {
  if (data.empty()) return;
  if (job.log_fd < 0) {
    // Created on the first output: a job that prints nothing costs no file.
    job.log_fd = ::open(log_path(job.info.id).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (job.log_fd < 0) spdlog::error("job {}: cannot open its log: {}", job.info.id, std::strerror(errno));
  }
  if (job.log_fd >= 0) {
    // A full disk fails the write at once (a regular file never blocks): the output is lost, not
    // buffered, the job goes on, and sjsd says so once per job (followers still get it).
    std::size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::write(job.log_fd, data.data() + off, data.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        if (job.log_lost == 0) {
          spdlog::error("job {}: cannot write its log: {}: its output is lost until there is room", job.info.id,
                        std::strerror(errno));
        }
        job.log_lost += data.size() - off;
        break;
      }
      off += static_cast<std::size_t>(n);
    }
  }
  JobLogChunk chunk{std::string(data), job.log_size, false, ""};
  job.log_size += data.size();
  nlohmann::json part = chunk;
  for (auto& f : job.followers) {
    if (f.open()) f.part(part);
  }
}

void JobTable::job_ended(const std::string& job_id, JobOutcome outcome) {
  LiveJob* job = live(job_id);
  if (!job) return;
  const std::string context = job->info.context;
  bool named = false;
  if (Context* ctx = m_contexts.find(context)) {
    ctx->running.erase(job_id);
    if (ctx->info.adhoc) {
      m_adhoc.release();
      m_contexts.end_adhoc(context, "");  // the ad-hoc context ends with its job
    } else {
      ctx->queue.release();
      named = true;
    }
  }
  end_live_job(*job, std::move(outcome));
  if (named) {
    m_contexts.check_idle(context);
    pump(context);
  }
  pump_adhoc();
  maybe_idle();
}

void JobTable::end_queued(const std::string& job_id, JobOutcome outcome) {
  if (LiveJob* job = live(job_id)) end_live_job(*job, std::move(outcome));
}

// Records a job's final state; waiters, followers and observers hear of it after the commit.
void JobTable::end_live_job(LiveJob& job, JobOutcome outcome) {
  if (job.timeout) job.timeout->cancel();
  if (outcome.has_result && outcome.result_is_stdout && outcome.state == job_state::k_finished) {
    const std::size_t size = outcome.result.dump().size();
    if (size > m_config.max_result_bytes) {
      outcome.has_result = false;
      outcome.result = nullptr;
      outcome.warning = "[sjs] warning: the job printed " + std::to_string(size) + " bytes, over the result limit of " +
                        std::to_string(m_config.max_result_bytes) +
                        " (store.max-result-bytes): it has no result (its output is in this log; a job writes its "
                        "result to $SJS_RESULT)\n";
    }
  }
  if (!outcome.warning.empty()) append_log(job, outcome.warning);
  if (job.log_dropped > 0) {
    append_log(job, "[sjs: " + std::to_string(job.log_dropped) + " bytes of the job's output were dropped (" +
                        std::to_string(job.log_kept + job.log_dropped) + " written, " + std::to_string(job.log_kept) +
                        " kept)]\n");
  }
  if (job.log_fd >= 0) {
    ::close(job.log_fd);
    job.log_fd = -1;
  }
  JobInfo& j = job.info;
  j.state = outcome.state;
  j.ended_ms = now_ms();
  j.exit_status = outcome.exit_status;
  j.signal = outcome.signal;
  j.error = outcome.error;
  j.end_reason = outcome.end_reason;
  j.has_result = outcome.has_result;
  if (outcome.has_result) {
    std::string text = outcome.result.dump();
    if (text.size() > m_config.max_result_bytes) {
      j.state = job_state::k_error;
      j.has_result = false;
      j.error = job_error("the job's result is " + std::to_string(text.size()) + " bytes, over the limit of " +
                              std::to_string(m_config.max_result_bytes) +
                              " (store.max-result-bytes): write large output to a file instead",
                          "sjs.ResultTooLarge");
      outcome.result = nullptr;
    }
  }
  job.result = std::move(outcome.result);
  job.final_pending = true;
  spdlog::info("job {} {} ({})", j.id, j.state, j.end_reason.empty() ? j.binary : j.end_reason);
  commit_end(j.id);
}

// A final state that cannot be committed (the store or its disk is full) is not dropped: the job
// stays in the table, its waiters wait, and the write is tried again every second until there is room,
// so the job never stays RUNNING on disk once space returns. At shutdown the daemon stops trying;
// the next start then records such a job ERROR (daemon_restart), as for a crash.
void JobTable::commit_end(const std::string& id) {
  LiveJob* job = live(id);
  if (!job) return;
  const JobInfo& j = job->info;
  m_store.put_job(j, nullptr, j.has_result ? &job->result : nullptr, [this, id](const store::WriteError& error) {
    LiveJob* l = live(id);
    if (!l) return;
    if (error.empty()) return committed_end(id);
    if (m_shutting_down) {
      spdlog::error("job {}: could not record its end ({}); the next start records it ERROR", id, error.message);
      return committed_end(id);
    }
    if (!l->retry) spdlog::error("job {}: could not record its end, trying again every second: {}", id, error.message);
    if (!l->retry) l->retry = std::make_unique<asio::steady_timer>(m_io);
    l->retry->expires_after(std::chrono::seconds(1));
    l->retry->async_wait([this, id](const boost::system::error_code& ec) {
      if (!ec) commit_end(id);
    });
  });
}

void JobTable::committed_end(const std::string& id) {
  auto it = m_live.find(id);
  if (it == m_live.end()) return;
  std::unique_ptr<LiveJob> done = std::move(it->second);
  m_live.erase(it);
  remember_final(done->info);
  for (auto& w : done->waiters) w.ended(done->info, done->result);
  m_events.publish_ended(done->info, done->result);
  JobLogChunk last{"", done->log_size, true, done->info.state};
  for (auto& f : done->followers) {
    if (f.open()) f.done(last);
  }
  maybe_idle();
}

bool JobTable::idle() const {
  if (m_contexts.running_jobs() > 0) return false;
  for (const auto& [id, job] : m_live) {
    if (job->final_pending) return false;  // its commit is on the way
  }
  return true;
}

void JobTable::maybe_idle() {
  if (m_shutting_down && m_on_idle && idle()) m_on_idle();
}

void JobTable::fail_waiters() {
  for (auto& [id, job] : m_live) {
    const Error gone(ErrorCode::unavailable, "sjsd is shutting down; job " + id +
                                               " stays queued and runs when sjsd starts again",
                     {{"job", id}});
    for (auto& w : job->waiters) w.fail(gone);
    job->waiters.clear();
    for (auto& f : job->followers) {
      if (f.open()) f.fail(gone);
    }
    job->followers.clear();
  }
}

}  // namespace sjs

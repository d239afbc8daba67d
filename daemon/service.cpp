#include "service.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "sjs/config.hpp"
#include "sjs/errors.hpp"
#include "sjs/runtimes.hpp"
#include "sjs/paths.hpp"
#include "sjs/util.hpp"

namespace sjs {

namespace asio = boost::asio;

struct Service::Context {
  ContextInfo info;
  std::unique_ptr<Runtime> runtime;
  Scheduler queue{1};
  std::set<std::string> running;                  // job ids
  bool ready = false;                             // runtime started
  std::vector<std::function<void()>> on_idle;     // run once no job runs in it
  std::vector<std::int64_t> deaths;               // when its worker died lately (restart policy)
  std::string log_path;                           // "" = contexts/<name>.log; ad-hoc: its job's log
};

struct Service::LiveJob {
  JobInfo info;
  nlohmann::json config;                          // as submitted, secrets included
  std::string sha256;                             // the binary version's blob
  std::vector<BinaryRef> dependencies;            // --with binaries (path filled at start)
  int log_fd = -1;
  std::uint64_t log_size = 0;
  std::vector<Waiter> waiters;                    // called once the final state is committed
  std::vector<Stream> followers;                  // log --follow
  std::unique_ptr<asio::steady_timer> timeout;
  nlohmann::json result;
  bool final_pending = false;                     // final state written, commit not yet seen
  bool kill_requested = false;                    // killed while its ad-hoc context was starting
};

Service::Service(asio::io_context& io, store::Store& store, BlobStore& blobs, const DaemonConfig& config)
    : m_io(io),
      m_store(store),
      m_blobs(blobs),
      m_config(config),
      m_adhoc(config.adhoc_max_jobs),
      m_retention_timer(io),
      m_shutdown_timer(io) {
  make_dirs(m_config.data_dir + "/logs", 0700);
  make_dirs(m_config.data_dir + "/run", 0700);
  make_dirs(m_config.data_dir + "/contexts", 0700);
}

RuntimeOptions Service::runtime_options(const std::string& context) const {
  RuntimeOptions o;
  o.kill_grace_s = m_config.kill_grace_s;
  o.context_name = context;
  o.log_path = m_config.data_dir + "/contexts/" + context + ".log";
  o.start_timeout_s = m_config.context_start_timeout_s;
  o.launch = m_config.launch;
  o.background = [this](std::function<void()> fn) { asio::post(m_pool, std::move(fn)); };
  return o;
}

// (Re)creates a context's runtime and starts it; `done(error)` once it is up or
// has failed, with the context's state, id and times already set.
void Service::start_runtime(Context& ctx, std::function<void(const std::string& error)> done) {
  ctx.ready = false;
  try {
    RuntimeOptions options = runtime_options(ctx.info.name);
    if (!ctx.log_path.empty()) options.log_path = ctx.log_path;
    ctx.runtime = make_runtime(ctx.info.runtime, m_io, *this, options, ctx.info.settings);
  } catch (const Error& e) {
    ctx.info.state = context_state::k_error;
    ctx.info.error = e.what();
    done(e.what());
    return;
  }
  const std::string name = ctx.info.name;
  ctx.runtime->start([this, name, done](const std::string& error) {
    auto it = m_contexts.find(name);
    if (it == m_contexts.end()) return done("context " + name + " was deleted while it started");
    Context& c = *it->second;
    c.ready = error.empty();
    c.info.state = error.empty() ? context_state::k_running : context_state::k_error;
    c.info.error = error;
    c.info.started_ms = now_ms();
    c.info.id = make_uuid();
    if (!error.empty()) spdlog::error("context {} failed to start: {}", name, error);
    done(error);
  });
}

Service::~Service() {
  m_pool.join();
  for (auto& [id, job] : m_live) {
    if (job->log_fd >= 0) ::close(job->log_fd);
  }
}

std::string Service::log_path(const std::string& job_id) const { return m_config.data_dir + "/logs/" + job_id + ".log"; }

// ---- start-up -------------------------------------------------------------------

namespace {

// True if `pid` is still the process of job `job_id` (it carries SJS_JOB_ID).
bool is_job_process(int pid, const std::string& job_id) {
  if (pid <= 0) return false;
  std::string env;
  try {
    env = read_file("/proc/" + std::to_string(pid) + "/environ");
  } catch (const Error&) {
    return false;
  }
  const std::string needle = std::string("SJS_JOB_ID=") + job_id;
  std::size_t pos = 0;
  while (pos < env.size()) {
    std::size_t end = env.find('\0', pos);
    if (env.compare(pos, end == std::string::npos ? std::string::npos : end - pos, needle) == 0) return true;
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return false;
}

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

}  // namespace

void Service::start() {
  m_started_ms = now_ms();
  m_seq = m_store.last_job_seq();

  // Jobs that were running when the daemon died cannot be resumed: record that.
  for (auto job : m_store.jobs_in_state(job_state::k_running)) {
    if (is_job_process(job.pid, job.id)) ::kill(-job.pid, SIGKILL);  // an orphan of the dead daemon
    job.state = job_state::k_error;
    job.ended_ms = now_ms();
    job.end_reason = end_reason::k_daemon_restart;
    job.error = job_error("daemon restarted while the job was running", "sjs.DaemonRestarted");
    spdlog::warn("job {} was running when sjsd stopped: marked ERROR", job.id);
    m_store.put_job(job, nullptr, nullptr);
  }
  // Committed before the first client is served: no one may read such a job as still RUNNING.
  m_store.flush();

  // Named contexts come back up.
  for (auto& info : m_store.list_contexts()) {
    auto ctx = std::make_unique<Context>();
    ctx->info = info;
    ctx->queue.set_slots(info.max_jobs);
    Context& c = *ctx;
    m_contexts[info.name] = std::move(ctx);
    c.info.state = context_state::k_starting;
    start_runtime(c, [this, name = info.name](const std::string& error) {
      auto it = m_contexts.find(name);
      if (it == m_contexts.end()) return;
      m_store.put_context(it->second->info);
      if (error.empty()) pump(*it->second);
      else fail_queued(*it->second, "context " + name + " failed to start: " + error);
    });
  }

  // Queued jobs go back into their queues, in submission order.
  for (auto& job : m_store.jobs_in_state(job_state::k_queued)) {
    auto live = std::make_unique<LiveJob>();
    live->info = job;
    live->config = m_store.get_job_config(job.id).value_or(nlohmann::json::object());
    for (const auto& b : m_store.binary_versions(job.binary)) {
      if (b.version == job.binary_version) live->sha256 = b.sha256;
    }
    for (const auto& dep : job.dependencies) {
      auto colon = dep.rfind(':');
      const std::string name = dep.substr(0, colon);
      const int version = std::atoi(dep.substr(colon + 1).c_str());
      for (const auto& b : m_store.binary_versions(name)) {
        if (b.version == version) live->dependencies.push_back(BinaryRef{name, version, b.sha256, ""});
      }
    }
    if (!job.key.empty()) m_pending_keys.erase(job.key);
    LiveJob& l = *live;
    m_live[job.id] = std::move(live);
    if (l.sha256.empty() || (!job.adhoc && !m_contexts.count(job.context))) {
      end_live_job(l, JobOutcome{job_state::k_error, {}, false,
                                 job_error(l.sha256.empty() ? "its binary no longer exists"
                                                               : "its context " + job.context + " no longer exists",
                                              "sjs.Orphaned"),
                                 -1, 0, ""});
      continue;
    }
    enqueue(l);
  }
  run_retention();
}

// ---- binaries -------------------------------------------------------------------

void Service::upload_binary(const BinaryUploadArgs& args, bool move_source, Reply<BinaryInfo> reply) {
  check_name("binary", args.name);
  if (args.path.empty() || args.path[0] != '/') {
    throw Error(ErrorCode::usage, "binary.upload needs an absolute path, not \"" + args.path + "\"");
  }
  if (m_shutting_down) throw Error(ErrorCode::unavailable, "sjsd is shutting down");
  std::string original =
      args.original_name.empty() ? args.path.substr(args.path.find_last_of('/') + 1) : args.original_name;
  asio::post(m_pool, [this, args, original, move_source, reply]() {
    try {
      Ingested in = m_blobs.ingest(args.path, original, args.type, move_source);
      asio::post(m_io, [this, args, in, reply]() {
        auto versions = m_store.binary_versions(args.name);
        int latest = versions.empty() ? 0 : versions.back().version;
        int& reserved = m_reserved_versions[args.name];
        BinaryInfo b;
        b.name = args.name;
        b.version = std::max(latest, reserved) + 1;
        reserved = b.version;
        b.type = in.type;
        b.size = in.size;
        b.sha256 = in.sha256;
        b.uploaded_ms = now_ms();
        b.versions = b.version;
        m_store.put_binary(b, [this, b, reply](const std::string& error) {
          if (!error.empty()) {
            if (!m_store.blob_referenced(b.sha256)) m_blobs.remove(b.sha256);
            reply.fail(Error(ErrorCode::internal, error));
            return;
          }
          spdlog::info("binary {} version {} stored ({} bytes, {})", b.name, b.version, b.size, b.type);
          m_latest_binaries.erase(b.name);  // the next submission reads the new newest version
          reply.ok(b);
        });
      });
    } catch (const Error& e) {
      asio::post(m_io, [reply, e]() { reply.fail(e); });
    } catch (const std::exception& e) {
      asio::post(m_io, [reply, msg = std::string(e.what())]() { reply.fail(Error(ErrorCode::internal, msg)); });
    }
  });
}

BinaryListResult Service::list_binaries() const { return BinaryListResult{m_store.list_binaries()}; }

BinaryShowResult Service::show_binary(const std::string& name) const {
  auto versions = m_store.binary_versions(name);
  if (versions.empty()) throw Error(ErrorCode::not_found, "binary \"" + name + "\" not found (see: sjs binary list)");
  return BinaryShowResult{name, versions};
}

BinaryInfo Service::latest_binary(const std::string& name) const {
  // Every submission asks this: answer from memory once the store has been read.
  if (auto it = m_latest_binaries.find(name); it != m_latest_binaries.end()) return it->second;
  auto versions = m_store.binary_versions(name);
  if (versions.empty()) {
    throw Error(ErrorCode::not_found, "binary \"" + name + "\" not found: upload it first (sjs binary upload " +
                                          name + " FILE)");
  }
  m_latest_binaries[name] = versions.back();
  return versions.back();
}

void Service::delete_binary(const BinaryDeleteArgs& args, Reply<nlohmann::json> reply) {
  auto versions = show_binary(args.name).versions;
  std::vector<BinaryInfo> doomed;
  for (const auto& b : versions) {
    if (args.version == 0 || b.version == args.version) doomed.push_back(b);
  }
  if (doomed.empty()) {
    throw Error(ErrorCode::not_found, "binary \"" + args.name + "\" has no version " + std::to_string(args.version));
  }
  std::vector<std::string> users;
  for (const auto& [id, job] : m_live) {
    if (is_final_job_state(job->info.state)) continue;
    bool uses = job->info.binary == args.name && (args.version == 0 || job->info.binary_version == args.version);
    for (const auto& dep : job->dependencies) {
      uses = uses || (dep.name == args.name && (args.version == 0 || dep.version == args.version));
    }
    if (uses) users.push_back(id);
  }
  if (!users.empty()) {
    std::string list;
    for (const auto& u : users) list += (list.empty() ? "" : ", ") + u;
    throw Error(ErrorCode::in_use, "binary \"" + args.name + "\" is in use by job(s): " + list +
                                       " (wait for them or kill them, then delete)");
  }
  m_latest_binaries.erase(args.name);
  m_store.delete_binary(args.name, args.version, [this, doomed, reply](const std::string& error) {
    m_latest_binaries.erase(doomed.front().name);
    if (!error.empty()) return reply.fail(Error(ErrorCode::internal, error));
    for (const auto& b : doomed) {
      if (!m_store.blob_referenced(b.sha256)) m_blobs.remove(b.sha256);
    }
    reply.ok(nlohmann::json{{"deleted", doomed.size()}});
  });
}

// ---- contexts -------------------------------------------------------------------

Service::Context& Service::named_context(const std::string& name) const {
  auto it = m_contexts.find(name);
  if (it == m_contexts.end()) {
    throw Error(ErrorCode::not_found, "context \"" + name + "\" not found (see: sjs context list)");
  }
  return *it->second;
}

void Service::drop_context(const std::string& name, const char* state) {
  auto it = m_contexts.find(name);
  if (it == m_contexts.end()) return;
  ContextInfo info = it->second->info;
  m_contexts.erase(it);
  info.state = state;
  if (!info.stopped_ms) info.stopped_ms = now_ms();
  info.running = info.queued = 0;
  info.settings = redact_secrets(info.settings);
  if (!m_ended.count(name)) m_ended_order.push_back(name);
  m_ended[name] = std::move(info);
  while (m_ended_order.size() > k_max_ended) {
    m_ended.erase(m_ended_order.front());
    m_ended_order.pop_front();
  }
}

std::optional<ContextInfo> Service::ended_context(const std::string& name) const {
  if (m_contexts.count(name)) return std::nullopt;
  auto it = m_ended.find(name);
  if (it == m_ended.end()) return std::nullopt;
  return it->second;
}

void Service::fill_counts(ContextInfo& info) const {
  info.settings = redact_secrets(info.settings);  // what clients see: never a secret
  auto it = m_contexts.find(info.name);
  if (it == m_contexts.end()) return;
  info.running = static_cast<int>(it->second->running.size());
  info.queued = static_cast<int>(it->second->queue.queued());
}

void Service::create_context(const ContextCreateArgs& args, Reply<ContextInfo> reply) {
  check_name("context", args.name);
  if (!std::isalpha(static_cast<unsigned char>(args.name[0]))) {
    throw Error(ErrorCode::bad_request, "context name \"" + args.name + "\" must start with a letter");
  }
  if (m_shutting_down) throw Error(ErrorCode::unavailable, "sjsd is shutting down");
  if (m_contexts.count(args.name)) throw Error(ErrorCode::already_exists, "context \"" + args.name + "\" exists");
  const std::string runtime = args.runtime.empty() ? default_context_runtime().name : args.runtime;
  if (args.max_jobs < 0) throw Error(ErrorCode::bad_request, "--max-jobs must be at least 1");
  // The runtime and its settings, against the runtime table, and settings that cannot work here (spark
  // with no Spark home): refused (bad_request, exit 8) before anything starts.
  check_new_context(runtime, args.settings, runtime_options(args.name));
  auto ctx = std::make_unique<Context>();
  Context& c = *ctx;
  c.info.name = args.name;
  c.info.runtime = runtime;
  c.info.settings = args.settings;
  c.info.max_jobs = args.max_jobs > 0 ? args.max_jobs : m_config.context_max_jobs;
  c.info.created_ms = now_ms();
  c.info.state = context_state::k_starting;
  c.queue.set_slots(c.info.max_jobs);
  m_contexts[args.name] = std::move(ctx);
  start_runtime(c, [this, name = args.name, reply](const std::string& error) {
    auto found = m_contexts.find(name);
    if (!error.empty()) {
      if (found != m_contexts.end()) {
        fail_queued(*found->second, "context " + name + " failed to start: " + error);
        found->second->info.error = error;
        drop_context(name, context_state::k_error);
      }
      reply.fail(Error(ErrorCode::internal, "context \"" + name + "\" failed to start: " + error));
      return;
    }
    m_store.put_context(found->second->info, [this, name, reply](const std::string& err) {
      if (!err.empty()) return reply.fail(Error(ErrorCode::internal, err));
      auto it = m_contexts.find(name);
      if (it == m_contexts.end()) return reply.fail(Error(ErrorCode::not_found, "context \"" + name + "\" was deleted"));
      spdlog::info("context {} created ({}, {} slots)", name, it->second->info.runtime, it->second->info.max_jobs);
      ContextInfo info = it->second->info;
      fill_counts(info);
      reply.ok(info);
    });
  });
}

ContextListResult Service::list_contexts() const {
  ContextListResult r;
  for (const auto& [name, ctx] : m_contexts) {
    ContextInfo info = ctx->info;
    fill_counts(info);
    r.contexts.push_back(std::move(info));
  }
  return r;
}

ContextInfo Service::show_context(const std::string& name) const {
  ContextInfo info = named_context(name).info;
  fill_counts(info);
  return info;
}

void Service::after_idle(Context& ctx, std::function<void()> fn) {
  ctx.on_idle.push_back(std::move(fn));
  check_idle(ctx);
}

void Service::check_idle(Context& ctx) {
  if (!ctx.running.empty() || ctx.on_idle.empty()) return;
  auto fns = std::move(ctx.on_idle);
  ctx.on_idle.clear();
  for (auto& fn : fns) fn();
}

void Service::delete_context(const ContextDeleteArgs& args, Reply<ContextInfo> reply) {
  Context& ctx = named_context(args.name);
  if (ctx.info.adhoc) throw Error(ErrorCode::bad_request, "context \"" + args.name + "\" is ad-hoc: it ends with its job");
  if (ctx.info.state == context_state::k_stopping) {
    throw Error(ErrorCode::in_use, "context \"" + args.name + "\" is already stopping");
  }
  const std::size_t running = ctx.running.size(), queued = ctx.queue.queued();
  if ((running || queued) && !args.force) {
    throw Error(ErrorCode::in_use, "context \"" + args.name + "\" has " + std::to_string(running) + " running and " +
                                       std::to_string(queued) +
                                       " queued job(s): wait for them, or delete with --force to kill them");
  }
  ctx.info.state = context_state::k_stopping;
  // Queued jobs of a deleted context can never run: they end KILLED.
  while (auto id = ctx.queue.take()) {
    ctx.queue.release();
    auto it = m_live.find(*id);
    if (it == m_live.end()) continue;
    end_live_job(*it->second, JobOutcome{job_state::k_killed, {}, false,
                                         job_error("Job " + *id + " killed: its context was deleted", "sjs.JobKilled"),
                                         -1, 0, end_reason::k_user});
  }
  for (const auto& id : ctx.running) ctx.runtime->cancel(id, end_reason::k_user);
  after_idle(ctx, [this, &ctx, reply] {
    // Posted: the runtime must not be destroyed from inside its own callback.
    ctx.runtime->stop([this, &ctx, reply] { asio::post(m_io, [this, &ctx, reply] {
      ctx.info.state = context_state::k_stopped;
      ctx.info.stopped_ms = now_ms();
      ContextInfo info = ctx.info;
      info.settings = redact_secrets(info.settings);
      drop_context(info.name, context_state::k_stopped);
      ::unlink(runtime_options(info.name).log_path.c_str());
      m_store.delete_context(info.name, [reply, info](const std::string& error) {
        if (!error.empty()) return reply.fail(Error(ErrorCode::internal, error));
        spdlog::info("context {} deleted", info.name);
        reply.ok(info);
      });
    }); });
  });
}

void Service::restart_context(const std::string& name, Reply<ContextInfo> reply) {
  Context& ctx = named_context(name);
  if (ctx.info.adhoc) throw Error(ErrorCode::bad_request, "context \"" + name + "\" is ad-hoc: it ends with its job");
  if (ctx.info.state == context_state::k_stopping || ctx.info.state == context_state::k_restarting) {
    throw Error(ErrorCode::in_use, "context \"" + name + "\" is already " + ctx.info.state);
  }
  ctx.info.state = context_state::k_restarting;
  ctx.ready = false;
  ctx.deaths.clear();  // an explicit restart starts a fresh restart budget
  for (const auto& id : ctx.running) ctx.runtime->cancel(id, end_reason::k_user);
  after_idle(ctx, [this, name, reply] {
    auto it = m_contexts.find(name);
    if (it == m_contexts.end()) return reply.fail(Error(ErrorCode::not_found, "context \"" + name + "\" was deleted"));
    // The runtime must not be replaced from inside its own callback: post.
    it->second->runtime->stop([this, name, reply] {
      asio::post(m_io, [this, name, reply] {
        auto found = m_contexts.find(name);
        if (found == m_contexts.end()) return reply.fail(Error(ErrorCode::not_found, "context \"" + name + "\" was deleted"));
        start_runtime(*found->second, [this, name, reply](const std::string& error) {
          auto c = m_contexts.find(name);
          if (c == m_contexts.end()) return reply.fail(Error(ErrorCode::not_found, "context \"" + name + "\" was deleted"));
          if (!error.empty()) fail_queued(*c->second, "context " + name + " failed to restart: " + error);
          m_store.put_context(c->second->info, [this, name, reply, error](const std::string& err) {
            auto restarted = m_contexts.find(name);
            if (!err.empty()) return reply.fail(Error(ErrorCode::internal, err));
            if (!error.empty()) return reply.fail(Error(ErrorCode::internal, "context \"" + name + "\" failed to restart: " + error));
            if (restarted == m_contexts.end()) return reply.fail(Error(ErrorCode::not_found, "context \"" + name + "\" was deleted"));
            ContextInfo info = restarted->second->info;
            fill_counts(info);
            reply.ok(info);
            pump(*restarted->second);
          });
        });
      });
    });
  });
}

// Jobs queued in a context that cannot run end ERROR with `why`.
void Service::fail_queued(Context& ctx, const std::string& why) {
  while (auto id = ctx.queue.take()) {
    ctx.queue.release();
    auto it = m_live.find(*id);
    if (it == m_live.end()) continue;
    end_live_job(*it->second, JobOutcome{job_state::k_error, {}, false, job_error(why, "sjs.ContextError"), -1, 0, ""});
  }
}

// A named context's worker died: restart it, unless it keeps dying.
void Service::runtime_died(Runtime& runtime, const std::string& why) {
  Context* ctx = nullptr;
  for (auto& [name, c] : m_contexts) {
    if (c->runtime.get() == &runtime) ctx = c.get();
  }
  if (!ctx || ctx->info.adhoc) return;  // an ad-hoc context ends with its job anyway
  if (ctx->info.state == context_state::k_stopping || ctx->info.state == context_state::k_restarting) return;
  const std::string name = ctx->info.name;
  const std::int64_t now = now_ms();
  auto& deaths = ctx->deaths;
  deaths.push_back(now);
  const auto window = static_cast<std::int64_t>(m_config.context_restart_window_s * 1000);
  deaths.erase(std::remove_if(deaths.begin(), deaths.end(), [&](std::int64_t t) { return now - t > window; }),
               deaths.end());
  ctx->ready = false;
  if (static_cast<int>(deaths.size()) > m_config.context_max_restarts) {
    ctx->info.state = context_state::k_error;
    ctx->info.error = "its worker died " + std::to_string(deaths.size()) + " times in " +
                      nlohmann::json(m_config.context_restart_window_s).dump() + " s (last: " + why +
                      "): restart it with `sjs context restart " + name + "`";
    spdlog::error("context {}: {}", name, ctx->info.error);
    fail_queued(*ctx, "context " + name + " is in ERROR: " + ctx->info.error);
    m_store.put_context(ctx->info);
    return;
  }
  spdlog::warn("context {}: {}; restarting it", name, why);
  ctx->info.state = context_state::k_restarting;
  ctx->info.error = why;
  asio::post(m_io, [this, name] {
    auto it = m_contexts.find(name);
    if (it == m_contexts.end() || it->second->info.state != context_state::k_restarting) return;
    start_runtime(*it->second, [this, name](const std::string& error) {
      auto c = m_contexts.find(name);
      if (c == m_contexts.end()) return;
      m_store.put_context(c->second->info);
      if (error.empty()) pump(*c->second);
      else fail_queued(*c->second, "context " + name + " failed to restart: " + error);
    });
  });
}

void Service::context_objects(const std::string& name, Reply<nlohmann::json> reply) {
  Context& ctx = named_context(name);
  if (!ctx.runtime || !ctx.ready) {
    throw Error(ErrorCode::in_use, "context \"" + name + "\" is " + ctx.info.state + ": try again once it is RUNNING");
  }
  ctx.runtime->list_objects([reply](std::vector<std::string> names, const std::string& error) {
    if (!error.empty()) return reply.fail(Error(ErrorCode::bad_request, error));
    reply.ok(nlohmann::json{{"objects", names}});
  });
}

// ---- jobs -----------------------------------------------------------------------

JobInfo Service::find_job(const std::string& id) const {
  auto it = m_live.find(id);
  if (it != m_live.end()) return it->second->info;
  // A final job never changes again (until retention removes it): clients that
  // poll one are answered from memory, not from an LMDB read and a JSON parse.
  if (auto c = m_final_jobs.find(id); c != m_final_jobs.end()) return c->second;
  if (auto j = m_store.get_job(id)) {
    if (is_final_job_state(j->state)) remember_final(*j);
    return *j;
  }
  throw Error(ErrorCode::not_found, "no such job ID " + id + " (see: sjs job list)");
}

void Service::remember_final(const JobInfo& job) const {
  if (m_final_jobs.size() >= k_final_cache_size) m_final_jobs.clear();  // crude bound; refills from hot reads
  m_final_jobs[job.id] = job;
}

void Service::set_callback_sender(CallbackSender sender) {
  m_callbacks = std::move(sender);
  for (const auto& id : m_store.pending_callbacks()) {
    auto job = m_store.get_job(id);
    if (!job || job->callback_url.empty()) {
      m_store.callback_done(id);
    } else if (is_final_job_state(job->state) && !m_live.count(id)) {
      spdlog::info("job {}: sending its callback, owed from before the restart", id);
      send_callback(*job);
    }  // queued: sent when it ends
  }
}

void Service::send_callback(const JobInfo& job) {
  if (job.callback_url.empty()) return;
  if (!m_callbacks.send) {
    spdlog::warn("job {}: no callback sender: callback to {} not sent", job.id, job.callback_url);
    return;
  }
  m_callbacks.send(result_for(job, true), [this, id = job.id] { m_store.callback_done(id); });
}

JobResult Service::result_for(const JobInfo& job, bool with_result) const {
  JobResult r;
  r.job = job;
  if (with_result && job.has_result) {
    auto it = m_live.find(job.id);
    if (it != m_live.end()) {
      r.result = it->second->result;
    } else if (auto res = m_store.get_job_result(job.id)) {
      r.result = *res;
    }
  }
  return r;
}

void Service::submit_job(const JobSubmitArgs& args, Reply<JobResult> reply) {
  if (m_shutting_down) throw Error(ErrorCode::unavailable, "sjsd is shutting down: submit again once it is back");
  if (!args.config.is_object()) throw Error(ErrorCode::bad_request, "job config must be a JSON object");
  if (args.timeout_s < 0) throw Error(ErrorCode::bad_request, "--timeout must be >= 0 seconds");
  if (args.wait_timeout_s < 0) throw Error(ErrorCode::bad_request, "--wait-timeout must be >= 0 seconds");
  if (!args.callback_url.empty()) {
    if (!m_callbacks.check) throw Error(ErrorCode::bad_request, "callbacks are not available in this sjsd");
    m_callbacks.check(args.callback_url);  // throws bad_request saying what is wrong
  }

  // Idempotency: the same key answers with the job it first created.
  if (!args.key.empty()) {
    if (args.key.size() > 256) throw Error(ErrorCode::bad_request, "--key is longer than 256 characters");
    std::string existing;
    if (auto it = m_pending_keys.find(args.key); it != m_pending_keys.end()) existing = it->second;
    else if (auto id = m_store.job_id_by_key(args.key)) existing = *id;
    if (!existing.empty()) {
      JobInfo job = find_job(existing);
      auto live = m_live.find(existing);
      if (args.sync && live != m_live.end() && !live->second->final_pending && !is_final_job_state(job.state)) {
        add_waiter(*live->second, args.wait_timeout_s, Reply<JobResult>{[reply](JobResult r) {
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

  BinaryInfo binary = latest_binary(args.binary);
  if (args.entry.empty()) {
    if (std::string why = missing_entry_message(binary.type, binary.name); !why.empty()) throw Error(ErrorCode::usage, why);
  }
  std::vector<BinaryRef> dependencies;
  for (const auto& name : args.with) {
    BinaryInfo dep = latest_binary(name);
    if (dep.type != binary.type) {
      throw Error(ErrorCode::bad_request, "--with " + name + ": it is " + dep.type + ", the job's binary is " + binary.type);
    }
    dependencies.push_back(BinaryRef{dep.name, dep.version, dep.sha256, ""});
  }
  std::string context_name;
  std::string runtime;
  if (!args.context.empty()) {
    Context& ctx = named_context(args.context);
    if (ctx.info.state == context_state::k_stopping) {
      throw Error(ErrorCode::in_use, "context \"" + args.context + "\" is stopping");
    }
    if (!ctx.runtime || !ctx.runtime->accepts(binary.type)) {
      throw Error(ErrorCode::bad_request, "Invalid job type for this context: context \"" + args.context + "\" runs " +
                                              ctx.info.runtime + ", binary \"" + binary.name + "\" is " + binary.type);
    }
    int bound = ctx.info.settings.value("max-queue", 0);
    if (bound > 0 && ctx.queue.queued() >= static_cast<std::size_t>(bound)) {
      throw Error(ErrorCode::busy, "context \"" + args.context + "\" already has " + std::to_string(bound) +
                                       " queued jobs (its max-queue): try again later");
    }
    context_name = args.context;
    runtime = ctx.info.runtime;
  } else {
    runtime = default_runtime_for(binary.type, m_config.launch);
    if (!is_known_runtime(runtime)) {
      throw Error(ErrorCode::bad_request, "binary \"" + binary.name + "\" is " + binary.type + " and its runtime " +
                                              runtime + " is not available in this sjsd");
    }
    if (m_config.adhoc_max_queue > 0 && m_adhoc.queued() >= static_cast<std::size_t>(m_config.adhoc_max_queue)) {
      throw Error(ErrorCode::busy, "already " + std::to_string(m_config.adhoc_max_queue) +
                                       " ad-hoc jobs are queued (adhoc.max-queue): try again later");
    }
    std::string base = args.entry.empty() ? binary.name : args.entry;
    context_name = make_time_uuid() + "-" + base.substr(0, 64);
  }

  auto live = std::make_unique<LiveJob>();
  LiveJob& l = *live;
  l.config = args.config;
  l.sha256 = binary.sha256;
  l.dependencies = dependencies;
  JobInfo& j = l.info;
  j.id = make_time_uuid();
  j.seq = ++m_seq;
  j.binary = binary.name;
  j.binary_version = binary.version;
  j.binary_type = binary.type;
  j.entry = args.entry;
  j.args = args.args;
  for (const auto& d : dependencies) j.dependencies.push_back(d.name + ":" + std::to_string(d.version));
  j.context = context_name;
  j.adhoc = args.context.empty();
  j.runtime = runtime;
  j.state = job_state::k_queued;
  j.priority = args.priority;
  j.key = args.key;
  j.timeout_s = args.timeout_s;
  j.callback_url = args.callback_url;
  j.submitted_ms = now_ms();
  const std::string id = j.id;
  m_live[id] = std::move(live);
  if (!args.key.empty()) m_pending_keys[args.key] = id;

  const bool sync = args.sync;
  const double wait_timeout = args.wait_timeout_s;
  m_store.put_job(j, &l.config, nullptr, [this, id, key = args.key, sync, wait_timeout, reply](const std::string& error) {
    if (!key.empty()) m_pending_keys.erase(key);
    auto it = m_live.find(id);
    if (it == m_live.end()) return reply.fail(Error(ErrorCode::internal, "job " + id + " vanished"));
    LiveJob& job = *it->second;
    if (!error.empty()) {
      m_live.erase(it);
      return reply.fail(Error(ErrorCode::internal, "could not record the job: " + error));
    }
    // Durable now: acknowledge, then queue it.
    if (sync) add_waiter(job, wait_timeout, reply);
    else reply.ok(result_for(job.info, false));
    enqueue(job);
  });
}

void Service::enqueue(LiveJob& job) {
  if (job.info.adhoc) {
    m_adhoc.push(job.info.id, job.info.priority, job.info.seq);
    pump_adhoc();
    return;
  }
  auto it = m_contexts.find(job.info.context);
  if (it == m_contexts.end()) return;
  it->second->queue.push(job.info.id, job.info.priority, job.info.seq);
  pump(*it->second);
}

void Service::pump(Context& ctx) {
  if (m_shutting_down || !ctx.ready || ctx.info.state != context_state::k_running) return;
  while (auto id = ctx.queue.take()) {
    auto it = m_live.find(*id);
    if (it == m_live.end()) {
      ctx.queue.release();
      continue;
    }
    start_job(*it->second, ctx);
  }
}

void Service::pump_adhoc() {
  if (m_shutting_down) return;
  while (auto id = m_adhoc.take()) {
    auto it = m_live.find(*id);
    if (it == m_live.end()) {
      m_adhoc.release();
      continue;
    }
    LiveJob& job = *it->second;
    auto ctx = std::make_unique<Context>();
    Context& c = *ctx;
    c.info.name = job.info.context;
    c.info.runtime = job.info.runtime;
    c.info.adhoc = true;
    c.info.settings = adhoc_settings(job.config);
    c.info.max_jobs = 1;
    c.info.created_ms = now_ms();
    c.info.state = context_state::k_starting;
    c.info.id = make_uuid();
    c.log_path = log_path(job.info.id);  // one job: its worker's output is the job's log
    m_contexts[c.info.name] = std::move(ctx);
    start_runtime(c, [this, name = c.info.name, job_id = job.info.id](const std::string& error) {
      auto ct = m_contexts.find(name);
      auto it2 = m_live.find(job_id);
      if (error.empty() && ct != m_contexts.end() && it2 != m_live.end() && !it2->second->kill_requested) {
        start_job(*it2->second, *ct->second);
        return;
      }
      // The context could not start, or the job was killed meanwhile: end it, drop the context.
      m_adhoc.release();
      if (it2 != m_live.end()) {
        bool killed = it2->second->kill_requested;
        end_live_job(*it2->second,
                     killed ? JobOutcome{job_state::k_killed, {}, false,
                                         job_error("Job " + job_id + " killed", "sjs.JobKilled"), -1, 0,
                                         end_reason::k_user}
                            : JobOutcome{job_state::k_error, {}, false,
                                         job_error("ad-hoc context failed to start: " + error,
                                                      "sjs.ContextInitError"),
                                         -1, 0, ""});
      }
      if (ct != m_contexts.end()) {
        ct->second->info.state = context_state::k_stopping;
        ct->second->info.error = error;
        auto drop = [this, name, failed = !error.empty()] {
          drop_context(name, failed ? context_state::k_error : context_state::k_stopped);
        };
        if (ct->second->runtime) {
          ct->second->runtime->stop([this, drop] { asio::post(m_io, drop); });
        } else {
          asio::post(m_io, drop);
        }
      }
      asio::post(m_io, [this] { pump_adhoc(); });
    });
  }
}

void Service::start_job(LiveJob& job, Context& ctx) {
  ctx.running.insert(job.info.id);
  job.info.started_ms = now_ms();
  for (const auto& observe : m_job_observers) observe(job.info);
  if (job.info.timeout_s > 0) {
    job.timeout = std::make_unique<asio::steady_timer>(m_io);
    job.timeout->expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(job.info.timeout_s * 1000)));
    job.timeout->async_wait([this, id = job.info.id, &ctx](const boost::system::error_code& ec) {
      if (ec || !m_live.count(id) || !ctx.running.count(id)) return;
      spdlog::info("job {} ran past its timeout: killing it", id);
      ctx.runtime->cancel(id, end_reason::k_timeout);
    });
  }
  JobRun run;
  run.job = job.info;
  run.binary_path = m_blobs.path_for(job.sha256);
  run.binaries.push_back(BinaryRef{job.info.binary, job.info.binary_version, job.sha256, run.binary_path});
  for (auto dep : job.dependencies) {
    dep.path = m_blobs.path_for(dep.sha256);
    run.binaries.push_back(std::move(dep));
  }
  run.config = job.config;
  run.work_dir = m_config.data_dir + "/run/" + job.info.id;
  ctx.runtime->run(std::move(run));
}

void Service::job_started(const std::string& job_id, int pid) {
  auto it = m_live.find(job_id);
  if (it == m_live.end()) return;
  JobInfo& j = it->second->info;
  j.state = job_state::k_running;
  j.pid = pid;
  m_store.put_job(j, nullptr, nullptr);
}

void Service::job_output(const std::string& job_id, std::string_view data) {
  auto it = m_live.find(job_id);
  if (it == m_live.end()) return;
  LiveJob& job = *it->second;
  if (job.log_fd < 0) {
    // Created on the first output: a job that prints nothing costs no file.
    job.log_fd = ::open(log_path(job_id).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (job.log_fd < 0) spdlog::error("job {}: cannot open its log: {}", job_id, std::strerror(errno));
  }
  if (job.log_fd >= 0) {
    std::size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::write(job.log_fd, data.data() + off, data.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
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

void Service::job_ended(const std::string& job_id, JobOutcome outcome) {
  auto it = m_live.find(job_id);
  if (it == m_live.end()) return;
  LiveJob& job = *it->second;
  auto ct = m_contexts.find(job.info.context);
  if (ct != m_contexts.end()) {
    Context& ctx = *ct->second;
    ctx.running.erase(job_id);
    if (ctx.info.adhoc) {
      m_adhoc.release();
      // The ad-hoc context ends with its job (gracefully: a Spark driver gets to stop).
      ctx.info.state = context_state::k_stopping;
      ctx.runtime->stop([this, name = ctx.info.name] {
        asio::post(m_io, [this, name] { drop_context(name, context_state::k_stopped); });
      });
    } else {
      ctx.queue.release();
    }
  }
  end_live_job(job, std::move(outcome));
  if (ct != m_contexts.end() && !ct->second->info.adhoc) {
    check_idle(*ct->second);
    pump(*ct->second);
  }
  pump_adhoc();
  maybe_finish_shutdown();
}

// Records a job's final state; waiters and followers hear of it after the commit.
void Service::end_live_job(LiveJob& job, JobOutcome outcome) {
  if (job.timeout) job.timeout->cancel();
  if (job.log_fd >= 0) {
    ::close(job.log_fd);
    job.log_fd = -1;
  }
  JobInfo& j = job.info;
  j.state = outcome.state;
  j.ended_ms = now_ms();
  if (!j.started_ms) j.started_ms = 0;
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
  for (const auto& observe : m_job_observers) observe(j);
  spdlog::info("job {} {} ({})", j.id, j.state, j.end_reason.empty() ? j.binary : j.end_reason);
  const std::string id = j.id;
  m_store.put_job(j, nullptr, j.has_result ? &job.result : nullptr, [this, id](const std::string& error) {
    if (!error.empty()) spdlog::error("job {}: could not record its end: {}", id, error);
    auto it = m_live.find(id);
    if (it == m_live.end()) return;
    std::unique_ptr<LiveJob> done = std::move(it->second);
    m_live.erase(it);
    for (auto& w : done->waiters) w.ended(done->info);
    if (!done->info.callback_url.empty()) send_callback(done->info);
    JobLogChunk last{"", done->log_size, true, done->info.state};
    for (auto& f : done->followers) {
      if (f.open()) f.done(last);
    }
    maybe_finish_shutdown();
  });
}

void Service::add_waiter(LiveJob& job, double timeout_s, Reply<JobResult> reply) {
  auto answered = std::make_shared<bool>(false);
  std::shared_ptr<asio::steady_timer> timer;
  if (timeout_s > 0) {
    timer = std::make_shared<asio::steady_timer>(m_io);
    timer->expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(timeout_s * 1000)));
    timer->async_wait([this, answered, id = job.info.id, reply](const boost::system::error_code& ec) {
      if (ec || *answered) return;
      *answered = true;
      JobResult r = result_for(find_job(id), false);
      r.wait_timed_out = true;
      reply.ok(std::move(r));
    });
  }
  Waiter w;
  w.ended = [this, answered, timer, reply](const JobInfo& info) {
    if (*answered) return;
    *answered = true;
    if (timer) timer->cancel();
    JobResult r;
    r.job = info;
    if (info.has_result) r.result = m_store.get_job_result(info.id).value_or(nullptr);
    reply.ok(std::move(r));
  };
  w.fail = [answered, timer, reply](const Error& e) {
    if (*answered) return;
    *answered = true;
    if (timer) timer->cancel();
    reply.fail(e);
  };
  job.waiters.push_back(std::move(w));
}

JobResult Service::job_status(const std::string& id, bool with_result) const {
  return result_for(find_job(id), with_result);
}

JobConfigResult Service::job_config(const std::string& id) const {
  auto it = m_live.find(id);
  if (it != m_live.end()) return JobConfigResult{redact_secrets(it->second->config)};
  if (auto c = m_store.get_job_config(id)) return JobConfigResult{redact_secrets(*c)};
  find_job(id);  // throws not_found
  return JobConfigResult{nlohmann::json::object()};
}

JobListResult Service::list_jobs(const JobListArgs& args) const {
  if (args.limit < 0 || args.limit > 100000) throw Error(ErrorCode::bad_request, "--limit must be between 1 and 100000");
  if (!args.state.empty() && !is_job_state(args.state)) {
    throw Error(ErrorCode::bad_request, "unknown job state \"" + args.state +
                                            "\": use QUEUED, RUNNING, FINISHED, ERROR or KILLED");
  }
  JobListResult r{m_store.list_jobs(args)};
  // Live jobs may be ahead of what is committed: show their current state.
  for (auto& j : r.jobs) {
    auto it = m_live.find(j.id);
    if (it != m_live.end()) j = it->second->info;
  }
  return r;
}

void Service::kill_job(const std::string& id, Reply<JobResult> reply) {
  auto it = m_live.find(id);
  if (it == m_live.end() || it->second->final_pending) {
    JobInfo j = find_job(id);
    throw Error(ErrorCode::not_found, "No running job with ID " + id + ": it already ended as " + j.state);
  }
  LiveJob& job = *it->second;
  add_waiter(job, 0, reply);
  if (job.info.state == job_state::k_queued) {
    bool removed = job.info.adhoc ? m_adhoc.remove(id) : false;
    if (!job.info.adhoc) {
      auto ct = m_contexts.find(job.info.context);
      if (ct != m_contexts.end()) removed = ct->second->queue.remove(id);
    }
    if (removed) {
      end_live_job(job, JobOutcome{job_state::k_killed, {}, false, job_error("Job " + id + " killed", "sjs.JobKilled"),
                                   -1, 0, end_reason::k_user});
      return;
    }
  }
  job.kill_requested = true;  // in case its ad-hoc context is still starting
  auto ct = m_contexts.find(job.info.context);
  if (ct != m_contexts.end() && ct->second->runtime) ct->second->runtime->cancel(id, end_reason::k_user);
}

void Service::wait_job(const JobWaitArgs& args, Reply<JobResult> reply) {
  if (args.timeout_s < 0) throw Error(ErrorCode::bad_request, "--timeout must be >= 0 seconds");
  auto it = m_live.find(args.id);
  if (it != m_live.end()) {
    add_waiter(*it->second, args.timeout_s, reply);
    return;
  }
  reply.ok(result_for(find_job(args.id), true));
}

void Service::job_log(const JobLogArgs& args, Stream stream) {
  JobInfo job = find_job(args.id);
  std::uint64_t offset = args.from;
  int fd = ::open(log_path(args.id).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (::lseek(fd, static_cast<off_t>(offset), SEEK_SET) < 0) offset = 0;
    std::string buf(1 << 20, '\0');
    for (;;) {
      ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      stream.part(JobLogChunk{buf.substr(0, static_cast<std::size_t>(n)), offset, false, ""});
      offset += static_cast<std::uint64_t>(n);
    }
    ::close(fd);
  }
  auto it = m_live.find(args.id);
  if (args.follow && it != m_live.end() && !it->second->final_pending) {
    it->second->followers.push_back(std::move(stream));
    return;
  }
  stream.done(JobLogChunk{"", offset, true, job.state});
}

DaemonStatusResult Service::status() const {
  DaemonStatusResult r;
  r.version = SJS_VERSION;
  r.pid = static_cast<int>(::getpid());
  r.data_dir = m_config.data_dir;
  r.socket = m_config.socket;
  r.http_url = m_http_url;
  r.started_ms = m_started_ms;
  for (const auto& [name, ctx] : m_contexts) {
    if (!ctx->info.adhoc) ++r.contexts;
  }
  for (const auto& [id, job] : m_live) {
    if (job->info.state == job_state::k_queued) ++r.queued;
    if (job->info.state == job_state::k_running) ++r.running;
  }
  r.jobs_total = m_store.job_count();
  return r;
}

// ---- retention and shutdown -----------------------------------------------------

void Service::run_retention() {
  store::RetentionPolicy policy;
  policy.max_jobs = m_config.retention_max_jobs;
  policy.max_age_ms = static_cast<std::int64_t>(m_config.retention_max_age_days * 86400.0 * 1000.0);
  m_store.apply_retention(policy, [this](std::vector<std::string> removed) {
    for (const auto& id : removed) {
      ::unlink(log_path(id).c_str());
      m_final_jobs.erase(id);
    }
    if (!removed.empty()) spdlog::info("retention removed {} finished job(s)", removed.size());
  });
  if (m_shutting_down) return;
  m_retention_timer.expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(m_config.retention_interval_s * 1000)));
  m_retention_timer.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !m_shutting_down) run_retention();
  });
}

void Service::shutdown(std::function<void()> done) {
  if (m_shutting_down) {
    auto prev = std::move(m_shutdown_done);
    m_shutdown_done = [prev, done] {
      if (prev) prev();
      done();
    };
    return;
  }
  m_shutting_down = true;
  m_shutdown_done = std::move(done);
  m_retention_timer.cancel();
  std::size_t running = 0;
  for (const auto& [name, ctx] : m_contexts) running += ctx->running.size();
  spdlog::info("shutting down: {} running job(s) get {} s to end", running, m_config.shutdown_grace_s);
  m_shutdown_timer.expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(m_config.shutdown_grace_s * 1000)));
  m_shutdown_timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    for (auto& [name, ctx] : m_contexts) {
      for (const auto& id : ctx->running) {
        spdlog::warn("job {} still running after the grace period: killing it", id);
        ctx->runtime->cancel(id, end_reason::k_shutdown);
      }
    }
  });
  maybe_finish_shutdown();
}

void Service::maybe_finish_shutdown() {
  if (!m_shutting_down || !m_shutdown_done) return;
  for (const auto& [name, ctx] : m_contexts) {
    if (!ctx->running.empty()) return;
  }
  for (const auto& [id, job] : m_live) {
    if (job->final_pending) return;  // its commit is on the way
  }
  m_shutdown_timer.cancel();
  // Jobs still queued stay queued in the store and run at the next start.
  for (auto& [id, job] : m_live) {
    const Error gone(ErrorCode::unavailable, "sjsd is shutting down; job " + id +
                                                 " stays queued and runs when sjsd starts again");
    for (auto& w : job->waiters) w.fail(gone);
    job->waiters.clear();
    for (auto& f : job->followers) {
      if (f.open()) f.fail(gone);
    }
    job->followers.clear();
  }
  // Resident workers get to stop cleanly (a Spark driver stops its application) before the daemon exits.
  auto done = std::make_shared<std::function<void()>>(std::move(m_shutdown_done));
  m_shutdown_done = nullptr;
  auto pending = std::make_shared<std::size_t>(1);
  auto one_stopped = [this, pending, done] {
    if (--*pending == 0) asio::post(m_io, [done] { (*done)(); });
  };
  for (auto& [name, ctx] : m_contexts) {
    if (!ctx->runtime) continue;
    ++*pending;
    ctx->runtime->stop(one_stopped);
  }
  one_stopped();
}

}  // namespace sjs

#include "service.hpp"

#include <unistd.h>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "runtimes/runner_tools.hpp"
#include "sjs/errors.hpp"
#include "sjs/runtimes.hpp"
#include "sjs/paths.hpp"
#include "sjs/util.hpp"

namespace sjs {

namespace asio = boost::asio;

namespace {

RuntimeFactory default_factory(asio::io_context& io) {
  return [&io](const std::string& runtime, JobSink& sink, const RuntimeOptions& options,
               const nlohmann::json& settings) { return make_runtime(runtime, io, sink, options, settings); };
}

}  // namespace

Service::Service(asio::io_context& io, store::Store& store, BlobStore& blobs, const DaemonConfig& config,
                 RuntimeFactory factory)
    : m_store(store),
      m_config(config),
      m_binaries(io, m_pool, store, blobs),
      m_contexts(io, store, m_config, factory ? std::move(factory) : default_factory(io)),
      m_jobs(io, store, m_config, m_binaries, m_contexts, m_events),
      m_callbacks(store, m_events),
      m_retention(io, store, m_config, [this](const std::vector<std::string>& ids) { m_jobs.forget(ids); }),
      m_clusters(io, store, http_control_call(io),
                 ClusterOptions{m_config.cluster_health_interval_s, m_config.kill_grace_s, 1u << 20, 1000}),
      m_shutdown_timer(io) {
  make_dirs(m_config.data_dir + "/logs", 0700);
  make_dirs(m_config.data_dir + "/run", 0700);
  make_dirs(m_config.data_dir + "/contexts", 0700);
  m_contexts.set_sink(m_jobs);  // the job table hears the runtimes' job events
  m_contexts.set_background([this](std::function<void()> fn) { asio::post(m_pool, std::move(fn)); });
  m_contexts.set_hooks(ContextManager::Hooks{
      [this](const std::string& context) { m_jobs.pump(context); },
      [this](const std::string& job_id, JobOutcome outcome) { m_jobs.end_queued(job_id, std::move(outcome)); }});
  m_binaries.set_users_of([this](const std::string& name, int version) { return m_jobs.users_of(name, version); });
  // Python sources are compiled at upload; step libraries are listed by the Python runner's tool.
  const LaunchConfig launch = launch_config(m_config.launch);
  m_binaries.set_content_check([launch](const std::string& type, const std::string& path, const std::string& shown) {
    if (type == "py" && !launch.python_runner.empty()) check_python_source(launch, path, shown);
  });
  m_binaries.set_step_lister([launch](const BinaryInfo& b, const std::string& path) {
    bool listed = false;
    for (const auto& r : runtimes_with(runtime_cap::k_steps)) listed = listed || runs(*find_runtime(r), b.type);
    if (!listed) {
      throw Error(ErrorCode::bad_request, "binary \"" + b.name + "\" is " + b.type +
                                              ": steps come from step libraries (py, wheel, egg or jar binaries)",
                  {{"binary", b.name}});
    }
    if (b.type == http_jars_type()) return list_jar_steps(launch, path, b.name);
    return list_python_steps(launch, path, b.type, b.name);
  });
  m_jobs.set_callback_check([this](const std::string& url) { m_callbacks.check(url); });
  m_jobs.set_on_idle([this] { maybe_finish_shutdown(); });
  wire_clusters();
}

// The cluster table hears the workers' cluster messages through the job table, answers through
// the job's worker, writes to the job's log, and ends a job's clusters once the job's end is committed.
void Service::wire_clusters() {
  m_jobs.set_cluster_hooks([this](const std::string& job_id) { return m_clusters.token_for(job_id); },
                           [this](const JobInfo& job, const worker::FromWorker& msg) {
                             if (auto* m = std::get_if<worker::ClusterOpen>(&msg)) m_clusters.open(*m, job.context, job.runtime);
                             else if (auto* r = std::get_if<worker::ClusterRegister>(&msg)) m_clusters.registered(*r);
                             else if (auto* p = std::get_if<worker::ClusterPartition>(&msg)) m_clusters.partition_failed(*p);
                             else if (auto* e = std::get_if<worker::ClusterEnded>(&msg)) m_clusters.ended(*e);
                           });
  ClusterHooks hooks;
  hooks.send = [this](const std::string& job, const worker::ToWorker& msg) { m_jobs.send_to_worker(job, msg); };
  hooks.log = [this](const std::string& job, const std::string& line) { m_jobs.job_output(job, line + "\n"); };
  hooks.kill = [this](const std::string& job, const std::string& why) {
    spdlog::warn("job {}: killed: {}", job, why);
    try {
      m_jobs.kill(job, Reply<JobResult>{[](JobResult) {}, [](const Error&) {}});
    } catch (const Error&) {
      // it ended meanwhile
    }
  };
  m_clusters.set_hooks(std::move(hooks));
  m_events.on_ended([this](const JobInfo& job, const nlohmann::json&) {
    const std::string error =
        job.error.is_object() && job.error.contains("message") && job.error["message"].is_string()
            ? job.error["message"].get<std::string>()
            : "";
    m_clusters.job_ended(job.id, job.state, error);
  });
}

Service::~Service() { m_pool.join(); }

void Service::start() {
  m_started_ms = now_ms();
  m_jobs.repair();
  m_contexts.start_stored();
  m_jobs.requeue();
  m_retention.start();
  m_clusters.load();
}

void Service::set_callback_sender(CallbackSender sender) {
  m_callbacks.set_sender(std::move(sender), [this](const std::string& id) { return m_jobs.is_live(id); });
}

void Service::reset_contexts(Reply<std::vector<std::string>> reply) {
  // Counts the restarts and kills under way; answers when the last one is done.
  struct Pending {
    int left = 1;
    Reply<std::vector<std::string>> reply;
    std::vector<std::string> failures;
  };
  auto pending = std::make_shared<Pending>();
  pending->reply = std::move(reply);
  const auto done = [pending] {
    if (--pending->left == 0) pending->reply.ok(pending->failures);
  };
  const auto failed = [pending, done](const Error& e) {
    pending->failures.push_back(e.what());
    done();
  };
  std::vector<std::string> adhoc_jobs;
  for (const auto& [name, ctx] : m_contexts.all()) {
    if (ctx->info.adhoc) adhoc_jobs.insert(adhoc_jobs.end(), ctx->running.begin(), ctx->running.end());
  }
  for (const auto& ctx : m_contexts.list().contexts) {
    if (ctx.adhoc) continue;
    ++pending->left;
    try {
      m_contexts.restart(ctx.name, Reply<ContextInfo>{[done](ContextInfo) { done(); }, failed});
    } catch (const Error& e) {
      if (e.code() == ErrorCode::in_use) done();  // already stopping or restarting
      else failed(e);
    }
  }
  for (const auto& id : adhoc_jobs) {
    ++pending->left;
    try {
      m_jobs.kill(id, Reply<JobResult>{[done](JobResult) { done(); }, failed});
    } catch (const Error&) {
      done();  // it ended meanwhile
    }
  }
  done();
}

DaemonStatusResult Service::status() const {
  DaemonStatusResult r;
  r.version = SJS_VERSION;
  r.pid = static_cast<int>(::getpid());
  r.data_dir = m_config.data_dir;
  r.socket = m_config.socket;
  r.http_url = m_http_url;
  r.started_ms = m_started_ms;
  r.contexts = static_cast<int>(m_contexts.named_count());
  r.queued = static_cast<int>(m_jobs.count_in_state(job_state::k_queued));
  r.running = static_cast<int>(m_jobs.count_in_state(job_state::k_running));
  r.jobs_total = m_store.job_count();
  return r;
}

// ---- shutdown ---------------------------------------------------------------------

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
  m_binaries.begin_shutdown();
  m_contexts.begin_shutdown();
  m_jobs.begin_shutdown();
  m_retention.stop();
  m_clusters.stop_all();  // their jobs end FINISHED with their results, within the grace period
  spdlog::info("shutting down: {} running job(s) get {} s to end", m_contexts.running_jobs(), m_config.shutdown_grace_s);
  m_shutdown_timer.expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(m_config.shutdown_grace_s * 1000)));
  m_shutdown_timer.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) m_contexts.cancel_running(end_reason::k_shutdown);
  });
  maybe_finish_shutdown();
}

void Service::maybe_finish_shutdown() {
  if (!m_shutting_down || !m_shutdown_done || !m_jobs.idle()) return;
  m_shutdown_timer.cancel();
  // Jobs still queued stay queued in the store and run at the next start.
  m_jobs.fail_waiters();
  m_clusters.shutdown();
  // Resident workers get to stop cleanly (a Spark driver stops its application) before the daemon exits.
  auto done = std::move(m_shutdown_done);
  m_shutdown_done = nullptr;
  m_contexts.stop_all(std::move(done));
}

}  // namespace sjs

// The service layer: every operation sjs offers, implemented once. The Unix
// socket front end (and the HTTP front end) only translate to and from these
// calls.
//
// Threads: everything here runs on the core thread (the daemon's one
// io_context) and owns its state without locks. Blocking work (hashing an
// upload, commits) runs elsewhere and posts its result back.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "blobs.hpp"
#include "config.hpp"
#include "data_files.hpp"
#include "reply.hpp"
#include "runtimes/runtime.hpp"
#include "scheduler.hpp"
#include "sjs/messages.hpp"
#include "store/store.hpp"

namespace sjs {

class Service : public JobSink {
 public:
  Service(boost::asio::io_context& io, store::Store& store, BlobStore& blobs, const DaemonConfig& config);
  ~Service() override;

  // Start-up repair (RUNNING jobs of a dead daemon become ERROR), contexts back
  // up, QUEUED jobs back in their queues, retention scheduled.
  void start();
  // Graceful stop: no new jobs; running jobs get the grace period, then are
  // killed and recorded; `done` when everything is committed.
  void shutdown(std::function<void()> done);
  bool shutting_down() const { return m_shutting_down; }
  // daemon.stop: the daemon decides how to stop (signals, front ends, exit).
  void set_stop_handler(std::function<void()> handler) { m_stop_handler = std::move(handler); }
  void request_stop() {
    if (m_stop_handler) m_stop_handler();
  }

  // binaries
  void upload_binary(const BinaryUploadArgs& args, bool move_source, Reply<BinaryInfo> reply);
  BinaryListResult list_binaries() const;
  BinaryShowResult show_binary(const std::string& name) const;
  void delete_binary(const BinaryDeleteArgs& args, Reply<nlohmann::json> reply);

  // contexts
  void create_context(const ContextCreateArgs& args, Reply<ContextInfo> reply);
  ContextListResult list_contexts() const;
  ContextInfo show_context(const std::string& name) const;
  // A context that ended (deleted, or an ad-hoc one whose job is over) in this daemon's life, as it
  // was at its end (state STOPPED or ERROR); spark-jobserver's GET /contexts/<name> still answers for
  // those. The newest k_max_ended are kept, in memory.
  std::optional<ContextInfo> ended_context(const std::string& name) const;
  static constexpr std::size_t k_max_ended = 1000;
  void delete_context(const ContextDeleteArgs& args, Reply<ContextInfo> reply);
  void restart_context(const std::string& name, Reply<ContextInfo> reply);

  // jobs
  void submit_job(const JobSubmitArgs& args, Reply<JobResult> reply);
  JobResult job_status(const std::string& id, bool with_result) const;
  JobConfigResult job_config(const std::string& id) const;  // secrets redacted
  JobListResult list_jobs(const JobListArgs& args) const;
  void kill_job(const std::string& id, Reply<JobResult> reply);
  void wait_job(const JobWaitArgs& args, Reply<JobResult> reply);
  void job_log(const JobLogArgs& args, Stream stream);

  // Named objects a context holds (jvm, spark).
  void context_objects(const std::string& name, Reply<nlohmann::json> reply);

  DaemonStatusResult status() const;
  const std::string& data_dir() const { return m_config.data_dir; }
  const DaemonConfig& config() const { return m_config; }
  boost::asio::io_context& io() { return m_io; }
  // Data files clients upload for their jobs (spark-jobserver's /data routes).
  DataFiles& data_files() { return m_data_files; }
  void set_http_url(std::string url) { m_http_url = std::move(url); }
  // Called on the core thread when a job starts (state still QUEUED, started_ms set) and when it
  // ends (final state, ended_ms set): the HTTP metrics' histograms (http/metrics.cpp).
  void add_job_observer(std::function<void(const JobInfo&)> observer) { m_job_observers.push_back(std::move(observer)); }

  // Job callbacks (a job submitted with a callback_url): `check` refuses a URL that cannot be used
  // (throws Error), `send` delivers an ended job's callback and calls `finished` once it was
  // delivered or given up on. The store owes a callback from the job's submission until then, so
  // one that a daemon restart interrupted is sent again by the next daemon (at least once).
  struct CallbackSender {
    std::function<void(const std::string& url)> check;
    std::function<void(const JobResult& ended, std::function<void()> finished)> send;
  };
  // Sets the sender, and sends the callbacks still owed from before a restart for jobs that ended.
  void set_callback_sender(CallbackSender sender);
  const store::Store& store() const { return m_store; }

  // JobSink (from runtimes)
  void job_started(const std::string& job_id, int pid) override;
  void job_output(const std::string& job_id, std::string_view data) override;
  void job_ended(const std::string& job_id, JobOutcome outcome) override;
  void runtime_died(Runtime& runtime, const std::string& why) override;

 private:
  struct Context;
  struct LiveJob;
  struct Waiter {
    std::function<void(const JobInfo&)> ended;
    std::function<void(const Error&)> fail;
  };

  JobInfo find_job(const std::string& id) const;  // live or stored; throws not_found
  void remember_final(const JobInfo& job) const;
  BinaryInfo latest_binary(const std::string& name) const;
  RuntimeOptions runtime_options(const std::string& context) const;
  void start_runtime(Context& ctx, std::function<void(const std::string& error)> done);
  Context& named_context(const std::string& name) const;
  // Removes a context from m_contexts, remembering it as ended (final state `state`).
  void drop_context(const std::string& name, const char* state);
  void enqueue(LiveJob& job);
  void pump(Context& ctx);
  void pump_adhoc();
  void start_job(LiveJob& job, Context& ctx);
  void end_live_job(LiveJob& job, JobOutcome outcome);
  void add_waiter(LiveJob& job, double timeout_s, Reply<JobResult> reply);
  void after_idle(Context& ctx, std::function<void()> fn);
  void fail_queued(Context& ctx, const std::string& why);
  void check_idle(Context& ctx);
  void fill_counts(ContextInfo& info) const;
  void run_retention();
  void maybe_finish_shutdown();
  std::string log_path(const std::string& job_id) const;
  JobResult result_for(const JobInfo& job, bool with_result) const;

  boost::asio::io_context& m_io;
  store::Store& m_store;
  BlobStore& m_blobs;
  DaemonConfig m_config;
  DataFiles m_data_files{m_config.data_dir + "/files"};
  mutable boost::asio::thread_pool m_pool{2};  // blocking work off the core thread

  // Owned by the core thread:
  std::map<std::string, std::unique_ptr<Context>> m_contexts;      // named and live ad-hoc
  std::unordered_map<std::string, ContextInfo> m_ended;            // see ended_context()
  std::deque<std::string> m_ended_order;                           // oldest first
  std::unordered_map<std::string, std::unique_ptr<LiveJob>> m_live;  // QUEUED, RUNNING, or final but not yet committed
  std::unordered_map<std::string, std::string> m_pending_keys;     // idempotency key -> job id, until committed
  std::unordered_map<std::string, int> m_reserved_versions;        // binary name -> last version handed out
  mutable std::unordered_map<std::string, BinaryInfo> m_latest_binaries;  // cache of committed newest versions
  static constexpr std::size_t k_final_cache_size = 4096;
  mutable std::unordered_map<std::string, JobInfo> m_final_jobs;          // cache of committed final jobs
  Scheduler m_adhoc;                                               // gates ad-hoc jobs
  std::uint64_t m_seq = 0;
  std::int64_t m_started_ms = 0;
  bool m_shutting_down = false;
  std::function<void()> m_shutdown_done;
  std::function<void()> m_stop_handler;
  std::string m_http_url;
  std::vector<std::function<void(const JobInfo&)>> m_job_observers;
  CallbackSender m_callbacks;
  void send_callback(const JobInfo& job);
  boost::asio::steady_timer m_retention_timer;
  boost::asio::steady_timer m_shutdown_timer;
};

}  // namespace sjs

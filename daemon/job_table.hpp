// The job table owns live jobs (QUEUED, RUNNING, or ended but not yet
// committed): submission (checks, idempotency keys, the commit before the
// answer), the ad-hoc gate, starting jobs in their contexts, timeouts, logs
// and their followers, waiters (--sync, wait, kill), and the end of a job,
// published as a JobEvents event once committed. It also answers every job
// query, live or stored (a cache keeps final jobs that clients poll).
//
// Threads: the core thread only. Lifetime rule: timers and callbacks hold a
// job id (and a context name), never a reference, and look both up again.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "binary_catalog.hpp"
#include "config.hpp"
#include "context_manager.hpp"
#include "job_events.hpp"
#include "reply.hpp"
#include "runtimes/runtime.hpp"
#include "scheduler.hpp"
#include "sjs/messages.hpp"
#include "store/store.hpp"

namespace sjs {

class JobTable : public JobSink {
 public:
  JobTable(boost::asio::io_context& io, store::Store& store, const DaemonConfig& config, BinaryCatalog& binaries,
           ContextManager& contexts, JobEvents& events);
  ~JobTable() override;

  // Refuses a callback URL that cannot be used (throws bad_request); unset: callbacks are refused.
  void set_callback_check(std::function<void(const std::string& url)> check) { m_callback_check = std::move(check); }

  // Start-up, before contexts come up: jobs RUNNING in the store belong to a dead daemon and end ERROR
  // (committed before this returns).
  void repair();
  // Start-up, after contexts: QUEUED jobs go back into their queues, in submission order.
  void requeue();

  void submit(const JobSubmitArgs& args, Reply<JobResult> reply);
  JobResult status(const std::string& id, bool with_result) const;
  JobConfigResult config(const std::string& id) const;  // secrets redacted
  JobListResult list(const JobListArgs& args) const;
  void kill(const std::string& id, Reply<JobResult> reply);
  void wait(const JobWaitArgs& args, Reply<JobResult> reply);
  void log(const JobLogArgs& args, Stream stream);
  // A live or stored job; throws not_found.
  JobInfo find(const std::string& id) const;
  JobResult result_for(const JobInfo& job, bool with_result) const;
  // Queued, running, or ended with its commit on the way.
  bool is_live(const std::string& id) const { return m_live.count(id) > 0; }

  // For the context manager (hooks): start what is queued in a ready context; end a queued job.
  void pump(const std::string& context);
  void end_queued(const std::string& job_id, JobOutcome outcome);
  // For the binary catalog: live jobs that use a binary version (0: any version).
  std::vector<std::string> users_of(const std::string& binary, int version) const;
  // Retention removed these jobs: forget their cached state and logs.
  void forget(const std::vector<std::string>& ids);

  // Shutdown: no new jobs; `idle()` once nothing runs and nothing awaits its commit; then
  // `fail_waiters` answers the clients still waiting (queued jobs stay queued in the store).
  void begin_shutdown() { m_shutting_down = true; }
  bool idle() const;
  void fail_waiters();
  void set_on_idle(std::function<void()> fn) { m_on_idle = std::move(fn); }
  // Live jobs in a state (QUEUED, RUNNING).
  std::size_t count_in_state(const char* state) const;

  // Partition servers (ClusterTable, wired by Service): the token a job's worker gets at its start
  // (resident runtimes only), and where the worker's cluster messages go.
  using ClusterToken = std::function<std::string(const std::string& job_id)>;
  using ClusterMessage = std::function<void(const JobInfo& job, const worker::FromWorker& msg)>;
  void set_cluster_hooks(ClusterToken token, ClusterMessage message) {
    m_cluster_token = std::move(token);
    m_cluster_message = std::move(message);
  }
  // A message to a running job's worker (dropped if the job no longer runs).
  void send_to_worker(const std::string& job_id, const worker::ToWorker& msg);

  // JobSink (from runtimes)
  void job_started(const std::string& job_id, int pid) override;
  void job_output(const std::string& job_id, std::string_view data) override;
  void job_ended(const std::string& job_id, JobOutcome outcome) override;
  void runtime_died(Runtime& runtime, const std::string& why) override { m_contexts.runtime_died(runtime, why); }
  void job_cluster(const std::string& job_id, const worker::FromWorker& msg) override;

 private:
  struct Waiter {
    std::function<void(const JobInfo&, const nlohmann::json& result)> ended;
    std::function<void(const Error&)> fail;
  };
  struct LiveJob {
    JobInfo info;
    nlohmann::json config;                          // as submitted, secrets included
    std::string sha256;                             // the binary version's blob
    std::vector<BinaryRef> dependencies;            // --with binaries (path filled at start)
    int log_fd = -1;
    std::uint64_t log_size = 0;                     // bytes in its log file (markers included)
    std::uint64_t log_kept = 0;                     // of the job's own output, kept (<= logs.max-bytes-per-job)
    std::uint64_t log_dropped = 0;                  // of the job's own output, dropped past the cap
    std::uint64_t log_lost = 0;                     // bytes the log file could not take (disk full)
    std::vector<Waiter> waiters;                    // called once the final state is committed
    std::vector<Stream> followers;                  // log --follow
    std::unique_ptr<boost::asio::steady_timer> timeout;
    std::unique_ptr<boost::asio::steady_timer> retry;  // the end's commit failed (storage full): try again
    nlohmann::json result;
    bool final_pending = false;                     // final state written, commit not yet seen
    bool kill_requested = false;                    // killed while its ad-hoc context was starting
  };

  LiveJob* live(const std::string& id);
  // The job's context and runtime, checked; fills in args-derived parts of the job.
  void place(const JobSubmitArgs& args, const BinaryInfo& binary, JobInfo& job);
  std::string existing_for_key(const std::string& key) const;
  static void check_steps(const JobSubmitArgs& args);
  // Appends to a live job's log file and tells its followers.
  void append_log(LiveJob& job, std::string_view data);
  void enqueue(LiveJob& job);
  void pump_adhoc();
  void adhoc_started(const std::string& job_id, const std::string& error);
  // Commits the job RUNNING, then (in launch, after that commit) hands it to the context's runtime.
  void start_job(LiveJob& job, Context& ctx);
  void launch(const std::string& job_id, const std::string& context, const std::string& context_run,
              const std::string& error);
  void on_timeout(const std::string& job_id);
  void end_live_job(LiveJob& job, JobOutcome outcome);
  // Commits a job's final state; while the store or its disk is full, tries again every second.
  void commit_end(const std::string& id);
  void committed_end(const std::string& id);
  void add_waiter(LiveJob& job, double timeout_s, Reply<JobResult> reply);
  void remember_final(const JobInfo& job) const;
  std::string log_path(const std::string& job_id) const;
  void maybe_idle();

  boost::asio::io_context& m_io;
  store::Store& m_store;
  const DaemonConfig& m_config;
  BinaryCatalog& m_binaries;
  ContextManager& m_contexts;
  JobEvents& m_events;
  std::function<void(const std::string&)> m_callback_check;
  std::function<void()> m_on_idle;
  ClusterToken m_cluster_token;
  ClusterMessage m_cluster_message;

  // Owned by the core thread:
  std::unordered_map<std::string, std::unique_ptr<LiveJob>> m_live;
  std::unordered_map<std::string, std::string> m_pending_keys;  // idempotency key -> job id, until committed
  static constexpr std::size_t k_final_cache_size = 4096;
  mutable std::unordered_map<std::string, JobInfo> m_final_jobs;  // cache of committed final jobs
  Scheduler m_adhoc;                                              // gates ad-hoc jobs
  std::uint64_t m_seq = 0;
  bool m_shutting_down = false;
};

}  // namespace sjs

// The cluster table owns partition-server clusters (docs/partition-servers.md): sjsd is their
// coordinator. A job opens a cluster through its worker; each partition server registers its
// address with the job's token; the table health-checks every registered server, derives the
// cluster's state (STARTING, READY, DEGRADED, STOPPING, STOPPED, FAILED), stops clusters through
// their servers' /control/shutdown and the worker, keeps what they return, and answers clients.
// Every change is written to the store, so a cluster's record outlives the daemon: at start-up,
// clusters that were live become FAILED ("the daemon restarted").
//
// Threads: the core thread only. Timers and HTTP calls hold a cluster's name and a generation
// number, never a reference, and look the cluster up again.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "control_client.hpp"
#include "reply.hpp"
#include "sjs/cluster_messages.hpp"
#include "sjs/worker_protocol.hpp"
#include "store/store.hpp"

namespace sjs {

struct ClusterOptions {
  double health_interval_s = 2;        // every registered server's /control/health, this often
  double stop_grace_s = 5;             // a stopping cluster's job is killed past this (kill.grace-seconds)
  std::size_t max_kept_result_bytes = 1u << 20;  // results kept with the record up to this size
  std::size_t max_records = 1000;      // ended clusters kept (oldest dropped first)
};

// What the table needs from the rest of the daemon (Service wires these).
struct ClusterHooks {
  std::function<void(const std::string& job, const worker::ToWorker& msg)> send;  // to the job's worker
  std::function<void(const std::string& job, const std::string& line)> log;       // a line in the job's log
  std::function<void(const std::string& job, const std::string& why)> kill;       // kill a job
};

class ClusterTable {
 public:
  ClusterTable(boost::asio::io_context& io, store::Store& store, ControlCall call, ClusterOptions options);
  ~ClusterTable();
  void set_hooks(ClusterHooks hooks) { m_hooks = std::move(hooks); }

  // Start-up: records from the store; clusters that were live end FAILED (committed).
  void load();
  // Graceful daemon stop: every live cluster is stopped (no one waits for it).
  void stop_all();
  // Shutdown: no more health checks; waiting clients are answered with the cluster as it is.
  void shutdown();

  // A job starts on a worker: its cluster token (32 hex chars), made on first use.
  std::string token_for(const std::string& job_id);
  // A job ended (its state committed or about to be): its live clusters end with it.
  void job_ended(const std::string& job_id, const std::string& state, const std::string& error);

  // From a job's worker (the job's context and runtime come from the job table).
  void open(const worker::ClusterOpen& msg, const std::string& context, const std::string& runtime);
  void registered(const worker::ClusterRegister& msg);
  void partition_failed(const worker::ClusterPartition& msg);
  void ended(const worker::ClusterEnded& msg);

  // A registration from anywhere (the worker, or POST /clusters/<name>/register). Throws
  // Error(forbidden) for a wrong token (and logs it), not_found, in_use (the cluster is stopping
  // or ended), bad_request (partition, host or port). `from` says where it came from, for logs.
  ClusterInfo register_server(const std::string& name, std::int64_t partition, const std::string& host,
                              std::int64_t port, const std::string& token, const std::string& from);

  // Client ops.
  ClusterListResult list() const;
  ClusterInfo show(const std::string& name) const;  // throws not_found
  // Until READY or ended. A name no cluster has yet is waited for too (a job submitted just before
  // may not have opened it yet), up to the timeout or k_appear_s without one; then not_found.
  void wait(const ClusterWaitArgs& args, Reply<ClusterWaitResult> reply);
  static constexpr double k_appear_s = 30;
  void stop(const ClusterWaitArgs& args, Reply<ClusterWaitResult> reply);  // until ended
  ClusterResults results(const std::string& name) const;  // throws not_found, in_use while live

 private:
  struct Waiter {
    std::uint64_t id = 0;
    bool until_ready = false;  // wait: READY will do; stop: only the end
    double timeout_s = 0;      // as asked (a wait for an unopened name keeps it once the cluster opens)
    Reply<ClusterWaitResult> reply;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };
  struct Cluster {
    ClusterInfo info;
    nlohmann::json results;      // kept results (null when none or too large)
    std::uint64_t generation = 0;  // bumped on every registration: stale health answers are dropped
    std::vector<bool> checking;    // a health check of that partition is in flight
    std::vector<Waiter> waiters;
    std::unique_ptr<boost::asio::steady_timer> stop_timer;
  };

  Cluster* find(const std::string& name);
  const Cluster& get(const std::string& name) const;  // throws not_found
  // Derives the state from the servers (live clusters not stopping); persists and answers
  // waiters on a change. Call after every change of a server.
  void refresh(Cluster& c);
  void set_state(Cluster& c, const std::string& state, const std::string& error = "");
  void finish(Cluster& c, const std::string& state, const std::string& error, nlohmann::json results);
  void persist(const Cluster& c);
  void answer_waiters(Cluster& c);
  void add_waiter(Cluster& c, const ClusterWaitArgs& args, bool until_ready, Reply<ClusterWaitResult> reply);
  void wait_unopened(const ClusterWaitArgs& args, Reply<ClusterWaitResult> reply);
  void log(const Cluster& c, const std::string& line);
  void schedule_health();
  void check_health();
  void health_answer(const std::string& name, std::uint64_t generation, int partition, const ControlAnswer& a);
  void drop_old_records();

  boost::asio::io_context& m_io;
  store::Store& m_store;
  ControlCall m_call;
  ClusterOptions m_options;
  ClusterHooks m_hooks;
  std::map<std::string, std::unique_ptr<Cluster>> m_clusters;  // by name, live and ended
  std::unordered_map<std::string, std::string> m_tokens;      // job id -> token, while the job runs
  std::map<std::string, std::vector<Waiter>> m_unopened;      // wait on a name no cluster has yet
  boost::asio::steady_timer m_health_timer;
  std::uint64_t m_next_waiter = 0;
  bool m_shutting_down = false;
};

}  // namespace sjs

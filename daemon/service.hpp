// The service layer: every operation sjs offers, behind one facade that both
// front ends (the Unix socket and HTTP) call. It owns the subsystems and wires
// them together; each one owns one part of the state, in its own file, and is
// tested in-process:
//
//   BinaryCatalog   binaries: versions, the newest-version cache, the in-use check
//   ContextManager  contexts: lifecycle, restart policy, ended contexts
//   JobTable        live jobs: queues, ad-hoc gate, timeouts, waiters, logs, followers
//   CallbackOutbox  durable job callbacks
//   Retention       pruning of finished jobs
//   JobEvents       job started/ended, published after commit (callbacks, metrics)
//   ClusterTable    partition-server clusters: registrations, health, state, stop, results
//
// Threads: everything here runs on the core thread (the daemon's one
// io_context) and owns its state without locks. Blocking work (hashing an
// upload, commits) runs elsewhere and posts its result back.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "binary_catalog.hpp"
#include "blobs.hpp"
#include "callback_outbox.hpp"
#include "cluster_table.hpp"
#include "config.hpp"
#include "context_manager.hpp"
#include "data_files.hpp"
#include "job_events.hpp"
#include "job_table.hpp"
#include "reply.hpp"
#include "retention.hpp"
#include "sjs/messages.hpp"
#include "store/store.hpp"

namespace sjs {

class Service {
 public:
  // `factory` builds context runtimes; the daemon's default is make_runtime (runtimes/registry.cpp).
  Service(boost::asio::io_context& io, store::Store& store, BlobStore& blobs, const DaemonConfig& config,
          RuntimeFactory factory = nullptr);
  ~Service();

  // Start-up repair (RUNNING jobs of a dead daemon become ERROR), contexts back
  // up, QUEUED jobs back in their queues, retention scheduled.
  void start();
  // Graceful stop: no new jobs; running jobs get the grace period, then are
  // killed and recorded; `done` when everything is committed and every worker stopped.
  void shutdown(std::function<void()> done);
  bool shutting_down() const { return m_shutting_down; }
  // daemon.stop: the daemon decides how to stop (signals, front ends, exit).
  void set_stop_handler(std::function<void()> handler) { m_stop_handler = std::move(handler); }
  void request_stop() {
    if (m_stop_handler) m_stop_handler();
  }

  // binaries
  void upload_binary(const BinaryUploadArgs& args, bool move_source, Reply<BinaryInfo> reply) {
    m_binaries.upload(args, move_source, std::move(reply));
  }
  BinaryListResult list_binaries() const { return m_binaries.list(); }
  BinaryShowResult show_binary(const std::string& name) const { return m_binaries.show(name); }
  void binary_steps(const BinaryStepsArgs& args, Reply<nlohmann::json> reply) { m_binaries.steps(args, std::move(reply)); }
  void delete_binary(const BinaryDeleteArgs& args, Reply<nlohmann::json> reply) {
    m_binaries.remove(args, std::move(reply));
  }

  // contexts
  void create_context(const ContextCreateArgs& args, Reply<ContextInfo> reply) {
    m_contexts.create(args, std::move(reply));
  }
  ContextListResult list_contexts() const { return m_contexts.list(); }
  ContextInfo show_context(const std::string& name) const { return m_contexts.show(name); }
  // A context that ended (deleted, or an ad-hoc one whose job is over) in this daemon's life, as it
  // was at its end (state STOPPED or ERROR); spark-jobserver's GET /contexts/<name> still answers for those.
  std::optional<ContextInfo> ended_context(const std::string& name) const { return m_contexts.ended(name); }
  static constexpr std::size_t k_max_ended = ContextManager::k_max_ended;
  void delete_context(const ContextDeleteArgs& args, Reply<ContextInfo> reply) {
    m_contexts.remove(args, std::move(reply));
  }
  void restart_context(const std::string& name, Reply<ContextInfo> reply) {
    m_contexts.restart(name, std::move(reply));
  }
  // Every named context restarts (its running jobs end KILLED) and every running ad-hoc job is
  // killed; answered once all that is done, with what failed (empty: all went well).
  void reset_contexts(Reply<std::vector<std::string>> reply);
  // Named objects a context holds (jvm, spark).
  void context_objects(const std::string& name, Reply<nlohmann::json> reply) {
    m_contexts.objects(name, std::move(reply));
  }

  // jobs
  void submit_job(const JobSubmitArgs& args, Reply<JobResult> reply) { m_jobs.submit(args, std::move(reply)); }
  JobResult job_status(const std::string& id, bool with_result) const { return m_jobs.status(id, with_result); }
  JobConfigResult job_config(const std::string& id) const { return m_jobs.config(id); }  // secrets redacted
  JobListResult list_jobs(const JobListArgs& args) const { return m_jobs.list(args); }
  void kill_job(const std::string& id, Reply<JobResult> reply) { m_jobs.kill(id, std::move(reply)); }
  void wait_job(const JobWaitArgs& args, Reply<JobResult> reply) { m_jobs.wait(args, std::move(reply)); }
  void job_log(const JobLogArgs& args, Stream stream) { m_jobs.log(args, std::move(stream)); }

  // partition-server clusters
  ClusterListResult list_clusters() const { return m_clusters.list(); }
  ClusterInfo show_cluster(const std::string& name) const { return m_clusters.show(name); }
  void wait_cluster(const ClusterWaitArgs& args, Reply<ClusterWaitResult> reply) { m_clusters.wait(args, std::move(reply)); }
  void stop_cluster(const ClusterWaitArgs& args, Reply<ClusterWaitResult> reply) { m_clusters.stop(args, std::move(reply)); }
  ClusterResults cluster_results(const std::string& name) const { return m_clusters.results(name); }
  // POST /clusters/<name>/register: a partition server outside the worker's process.
  ClusterInfo register_cluster_server(const std::string& name, std::int64_t partition, const std::string& host,
                                      std::int64_t port, const std::string& token, const std::string& from) {
    return m_clusters.register_server(name, partition, host, port, token, from);
  }

  DaemonStatusResult status() const;
  const std::string& data_dir() const { return m_config.data_dir; }
  const DaemonConfig& config() const { return m_config; }
  // Data files clients upload for their jobs (spark-jobserver's /data routes).
  DataFiles& data_files() { return m_data_files; }
  void set_http_url(std::string url) { m_http_url = std::move(url); }
  // Job started/ended, after commit (metrics, callbacks).
  JobEvents& events() { return m_events; }

  using CallbackSender = CallbackOutbox::Sender;
  // Sets the sender, and sends the callbacks still owed from before a restart for jobs that ended.
  void set_callback_sender(CallbackSender sender);
  const store::Store& store() const { return m_store; }

 private:
  void maybe_finish_shutdown();
  void wire_clusters();

  store::Store& m_store;
  DaemonConfig m_config;
  DataFiles m_data_files{m_config.data_dir + "/files"};
  boost::asio::thread_pool m_pool{2};  // blocking work off the core thread

  // The owners (declaration order is construction order: each may use those above it).
  JobEvents m_events;
  BinaryCatalog m_binaries;
  ContextManager m_contexts;
  JobTable m_jobs;
  CallbackOutbox m_callbacks;
  Retention m_retention;
  ClusterTable m_clusters;

  std::int64_t m_started_ms = 0;
  bool m_shutting_down = false;
  std::function<void()> m_shutdown_done;
  std::function<void()> m_stop_handler;
  std::string m_http_url;
  boost::asio::steady_timer m_shutdown_timer;
};

}  // namespace sjs

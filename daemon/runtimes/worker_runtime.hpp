// A resident worker speaking the worker protocol (docs/worker-protocol.md)
// over a socketpair: the JVM runner for `jvm` and `spark` contexts (and later
// the Python and native workers). One WorkerRuntime per context; everything
// runs on the core thread. Worker messages are the typed structs of
// sjs/worker_protocol.hpp: this file builds and reads no worker JSON by hand.
#pragma once

#include <map>
#include <memory>

#include <boost/asio/steady_timer.hpp>

#include "runtimes/launch.hpp"
#include "runtimes/runtime.hpp"
#include "sjs/worker_protocol.hpp"

namespace sjs {

class WorkerRuntime : public Runtime {
 public:
  WorkerRuntime(boost::asio::io_context& io, JobSink& sink, const RuntimeOptions& options, std::string name,
                Launch launch);
  ~WorkerRuntime() override;

  std::string name() const override { return m_name; }
  void start(std::function<void(const std::string&)> ready) override;
  void run(JobRun run) override;
  void cancel(const std::string& job_id, const std::string& reason) override;
  void stop(std::function<void()> stopped) override;
  void list_objects(std::function<void(std::vector<std::string>, const std::string&)> done) override;
  void send_cluster(const worker::ToWorker& msg) override { send(msg); }

  struct Worker;  // the process and its channel (worker_runtime.cpp)

 private:
  // One frame's payload: the hello while starting (version checked), then any
  // worker message. A frame that does not decode is a protocol violation.
  void on_frame(const std::string& payload);
  void on_message(const worker::Hello& m);
  void on_message(const worker::Started& m);
  void on_message(const worker::Log& m);
  void on_message(const worker::Progress& m);
  void on_message(const worker::Finished& m);
  void on_message(const worker::Failed& m);
  void on_message(const worker::ObjectsAnswer& m);
  void on_message(const worker::ErrorReport& m);
  // Partition servers: passed to the sink for a job this runtime runs.
  template <typename ClusterMessage>
  void on_message(const ClusterMessage& m) {
    if (m_jobs.count(m.job)) m_sink.job_cluster(m.job, m);
  }
  void end_job(const std::string& job_id, JobOutcome outcome);
  // The worker broke the protocol: a failed start, or (once ready) killed and
  // handled like a crash whose reason is `why`.
  void protocol_violation(const std::string& why);
  void on_exit(const std::string& why);
  void send(const worker::ToWorker& msg);
  void kill_worker(int sig);

  boost::asio::io_context& m_io;
  JobSink& m_sink;
  RuntimeOptions m_options;
  std::string m_name;
  Launch m_launch;
  std::shared_ptr<Worker> m_worker;
  int m_pid = -1;            // the spawned process (its group leader); jobs report it as their pid
  std::unique_ptr<LimitedTree> m_limits;  // the current worker's cgroups (limits.*); replaced per start
  int m_starts = 0;          // names each worker's cgroup: worker-1, worker-2...
  std::string m_violation;   // why the daemon killed a ready worker for breaking the protocol, "" if it did not
  bool m_ready = false;
  bool m_stopping = false;
  std::function<void(const std::string&)> m_on_ready;
  std::function<void()> m_on_stopped;
  struct RunningJob {
    std::string cancel_reason;
    std::unique_ptr<boost::asio::steady_timer> kill_timer;
  };
  std::map<std::string, RunningJob> m_jobs;
  std::map<std::uint64_t, std::function<void(std::vector<std::string>, const std::string&)>> m_object_requests;
  std::uint64_t m_next_request = 1;
};

}  // namespace sjs

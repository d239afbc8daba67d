// The exec runtime: no resident worker; every job is a fresh process in its
// own process group. Contract: docs/runtimes.md#exec.
#pragma once

#include <map>
#include <memory>

#include "runtimes/runtime.hpp"

namespace sjs {

class ExecRuntime : public Runtime {
 public:
  ExecRuntime(boost::asio::io_context& io, JobSink& sink, const RuntimeOptions& options, std::string name,
              nlohmann::json settings);
  ~ExecRuntime() override;

  std::string name() const override { return m_name; }
  void start(std::function<void(const std::string&)> ready) override;
  void run(JobRun run) override;
  void cancel(const std::string& job_id, const std::string& reason) override;
  void stop(std::function<void()> stopped) override;

  struct Process;  // one running job (exec_runtime.cpp)

 private:
  void finish(const std::shared_ptr<Process>& p);
  void watch_limits(const std::shared_ptr<Process>& p);

  boost::asio::io_context& m_io;
  JobSink& m_sink;
  RuntimeOptions m_options;
  std::string m_name;  // its entry in the runtime table
  nlohmann::json m_settings;
  std::map<std::string, std::shared_ptr<Process>> m_running;  // by job id
};

}  // namespace sjs

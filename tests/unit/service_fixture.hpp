// A daemon's state owners on a temp store, driven in-process: the io_context is
// run by the test, so it decides when callbacks and commits are seen. Runtimes
// are the real ones by default; ScriptedRuntime is a runtime the test drives by
// hand, for interleavings a real process cannot be made to produce on cue.
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "blobs.hpp"
#include "config.hpp"
#include "context_manager.hpp"
#include "reply.hpp"
#include "runtimes/runtime.hpp"
#include "store/store.hpp"
#include "unit_helpers.hpp"

namespace sjs::test {

// What a ScriptedRuntime was asked to do, and the sink it reports to.
struct Script {
  JobSink* sink = nullptr;
  std::vector<std::string> runs;      // job ids, in order
  std::vector<std::string> cancels;   // job ids
  int starts = 0;
  int stops = 0;
  std::vector<Runtime*> runtimes;     // alive ones
  std::string start_error;            // non-empty: start fails with it
  bool start_later = false;           // true: start() waits for ready_all()
  std::vector<std::function<void(const std::string&)>> pending_starts;

  // The job ends as the runtime would report it.
  void finish(const std::string& id, const std::string& state = job_state::k_finished) const {
    JobOutcome o;
    o.state = state;
    if (state == job_state::k_finished) {
      o.has_result = true;
      o.result = nlohmann::json{{"id", id}};
    }
    sink->job_ended(id, std::move(o));
  }
  void ready_all() {
    auto starts_now = std::move(pending_starts);
    pending_starts.clear();
    for (auto& ready : starts_now) ready("");
  }
};

class ScriptedRuntime : public Runtime {
 public:
  ScriptedRuntime(JobSink& sink, std::shared_ptr<Script> script) : m_script(std::move(script)) {
    m_script->sink = &sink;
    m_script->runtimes.push_back(this);
  }
  ~ScriptedRuntime() override {
    auto& v = m_script->runtimes;
    v.erase(std::remove(v.begin(), v.end(), this), v.end());
  }
  // It stands in for an exec context: what it accepts comes from the runtime table.
  std::string name() const override { return "exec"; }
  void start(std::function<void(const std::string&)> ready) override {
    ++m_script->starts;
    if (m_script->start_later) return m_script->pending_starts.push_back(std::move(ready));
    ready(m_script->start_error);
  }
  void run(JobRun run) override {
    m_script->runs.push_back(run.job.id);
    m_script->sink->job_started(run.job.id, 4242);
  }
  void cancel(const std::string& job_id, const std::string&) override { m_script->cancels.push_back(job_id); }
  void stop(std::function<void()> stopped) override {
    ++m_script->stops;
    stopped();
  }

 private:
  std::shared_ptr<Script> m_script;
};

inline RuntimeFactory scripted_factory(std::shared_ptr<Script> script) {
  return [script](const std::string&, JobSink& sink, const RuntimeOptions&, const nlohmann::json&) {
    return std::make_unique<ScriptedRuntime>(sink, script);
  };
}

struct Fixture {
  TempDir dir;
  boost::asio::io_context io;
  DaemonConfig config;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<BlobStore> blobs;

  Fixture() {
    config.data_dir = dir.path();
    config.kill_grace_s = 1;
    config.adhoc_max_jobs = 2;
    config.context_start_timeout_s = 30;
    config.retention_interval_s = 3600;
    store = std::make_unique<store::Store>(store::StoreOptions{dir.path() + "/store", std::size_t{64} << 20},
                                           [this](std::function<void()> fn) { boost::asio::post(io, std::move(fn)); });
    blobs = std::make_unique<BlobStore>(dir.path() + "/blobs");
  }

  // Runs the io_context until `done()` holds; false if it did not within `seconds`.
  bool run_until(const std::function<bool()>& done, double seconds = 20) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int>(seconds * 1000));
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io.restart();
      io.run_for(std::chrono::milliseconds(5));
    }
    return true;
  }
  void settle(int ms = 50) {
    io.restart();
    io.run_for(std::chrono::milliseconds(ms));
  }

  // A file in the temp dir; `executable` sets mode 0755.
  std::string write(const std::string& name, const std::string& text, bool executable = false) {
    const std::string path = dir.path() + "/" + name;
    std::ofstream(path) << text;
    if (executable) ::chmod(path.c_str(), 0755);
    return path;
  }
};

// The value or error a Reply<T> got.
template <typename T>
struct Answer {
  std::optional<T> value;
  std::optional<Error> error;
  bool done() const { return value || error; }
  Reply<T> reply() {
    return Reply<T>{[this](T v) { value = std::move(v); }, [this](const Error& e) { error = e; }};
  }
};

}  // namespace sjs::test

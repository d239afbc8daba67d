// The context manager owns every context, named and ad-hoc: its runtime, its
// queue and slots, its lifecycle (STARTING, RUNNING, STOPPING, STOPPED, ERROR,
// RESTARTING), the restart policy for workers that die, and the memory of
// contexts that ended. It knows nothing of jobs beyond their ids: the job
// table starts and ends jobs, and is told through Hooks when a context is
// ready for them or when queued jobs can never run in it.
//
// Threads: the core thread only. Lifetime rule (all owners): a callback or
// timer that outlives the call that made it holds a context's name, never a
// reference, and looks the context up again when it runs.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "config.hpp"
#include "reply.hpp"
#include "runtimes/runtime.hpp"
#include "scheduler.hpp"
#include "sjs/messages.hpp"
#include "store/store.hpp"

namespace sjs {

struct Context {
  ContextInfo info;
  std::unique_ptr<Runtime> runtime;
  Scheduler queue{1};
  std::set<std::string> running;                  // job ids
  bool ready = false;                             // runtime started
  std::vector<std::function<void()>> on_idle;     // run once no job runs in it
  std::vector<std::int64_t> deaths;               // when its worker died lately (restart policy)
  std::string log_path;                           // "" = contexts/<name>.log; ad-hoc: its job's log
};

// Builds a context's runtime; the daemon's is make_runtime (runtimes/registry.cpp).
using RuntimeFactory = std::function<std::unique_ptr<Runtime>(const std::string& runtime, JobSink& sink,
                                                              const RuntimeOptions& options,
                                                              const nlohmann::json& settings)>;

class ContextManager {
 public:
  struct Hooks {
    // The context is up (again): start its queued jobs.
    std::function<void(const std::string& context)> ready;
    // A job that was queued in a context can never run there; end it with `outcome`.
    std::function<void(const std::string& job_id, JobOutcome outcome)> end_queued;
  };

  ContextManager(boost::asio::io_context& io, store::Store& store, const DaemonConfig& config, RuntimeFactory factory);
  // Where the runtimes report their jobs' events (the job table); set before start_stored().
  void set_sink(JobSink& sink) { m_sink = &sink; }
  void set_hooks(Hooks hooks) { m_hooks = std::move(hooks); }
  // Blocking work off the core thread, for runtimes (file copies); unset: inline.
  void set_background(std::function<void(std::function<void()>)> background) { m_background = std::move(background); }

  // Start-up: the stored named contexts come back up.
  void start_stored();

  void create(const ContextCreateArgs& args, Reply<ContextInfo> reply);
  ContextListResult list() const;
  ContextInfo show(const std::string& name) const;
  // A context that ended in this daemon's life, as it was at its end (STOPPED or ERROR). The
  // newest k_max_ended are kept, in memory.
  std::optional<ContextInfo> ended(const std::string& name) const;
  static constexpr std::size_t k_max_ended = 1000;
  // Delete: queued jobs end KILLED, running ones are cancelled (refused without `force`).
  void remove(const ContextDeleteArgs& args, Reply<ContextInfo> reply);
  void restart(const std::string& name, Reply<ContextInfo> reply);
  void objects(const std::string& name, Reply<nlohmann::json> reply);
  // A context's worker died on its own: restart it per the policy, or leave it in ERROR.
  void runtime_died(Runtime& runtime, const std::string& why);

  // Ad-hoc contexts: one per job, one slot, ended with the job.
  void start_adhoc(const std::string& name, const std::string& runtime, const nlohmann::json& settings,
                   const std::string& log_path, std::function<void(const std::string& error)> done);
  // Stops an ad-hoc context gracefully (a Spark driver gets to stop) and forgets it; `error` non-empty:
  // it ends as ERROR.
  void end_adhoc(const std::string& name, const std::string& error);

  Context* find(const std::string& name);
  const Context* find(const std::string& name) const;
  // Throws not_found naming the context.
  Context& named(const std::string& name);
  const Context& named(const std::string& name) const;
  // Runs `fn` once no job runs in the context (now, if none does).
  void after_idle(const std::string& name, std::function<void()> fn);
  void check_idle(const std::string& name);
  // Jobs queued in a context that cannot run end ERROR with `why`.
  void fail_queued(Context& ctx, const std::string& why);

  // Shutdown: cancel what runs (past the grace period); stop every runtime, then `done`.
  void cancel_running(const std::string& reason);
  void stop_all(std::function<void()> done);
  std::size_t running_jobs() const;
  std::size_t named_count() const;
  void begin_shutdown() { m_shutting_down = true; }
  const std::map<std::string, std::unique_ptr<Context>>& all() const { return m_contexts; }

  RuntimeOptions runtime_options(const std::string& context) const;

 private:
  void start_runtime(Context& ctx, std::function<void(const std::string& error)> done);
  // Removes a context, remembering it as ended (final state `state`).
  void drop(const std::string& name, const char* state);
  void fill_counts(ContextInfo& info) const;

  boost::asio::io_context& m_io;
  store::Store& m_store;
  const DaemonConfig& m_config;
  JobSink* m_sink = nullptr;
  RuntimeFactory m_factory;
  Hooks m_hooks;
  std::function<void(std::function<void()>)> m_background;
  bool m_shutting_down = false;

  std::map<std::string, std::unique_ptr<Context>> m_contexts;  // named and live ad-hoc
  std::unordered_map<std::string, ContextInfo> m_ended;        // see ended()
  std::deque<std::string> m_ended_order;                       // oldest first
};

}  // namespace sjs

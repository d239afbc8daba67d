// What runs jobs inside a context. One Runtime object per context; all calls
// and all callbacks happen on the core thread. The exec runtime starts one
// process per job; resident runtimes (jvm, spark, python, native) talk to a
// worker over the worker protocol (docs/protocol.md, part 2).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "runtimes/launch.hpp"
#include "runtimes/limits.hpp"
#include "sjs/messages.hpp"
#include "sjs/worker_protocol.hpp"

namespace sjs {

// One stored binary version a job uses.
struct BinaryRef {
  std::string name;
  int version = 0;
  std::string sha256;
  std::string path;          // the stored blob
};

class Runtime;

// Everything a runtime needs to run one job.
struct JobRun {
  JobInfo job;
  std::string binary_path;   // the job's binary (binaries[0].path)
  std::vector<BinaryRef> binaries;  // the job's binary, then its dependencies (--with)
  nlohmann::json config;     // with secrets: the job gets them
  std::string work_dir;      // private scratch dir for this run, removed afterwards
  std::string cluster_token; // resident workers: the token its partition servers register with
};

// How a job ended, as the runtime saw it.
struct JobOutcome {
  std::string state;         // FINISHED | ERROR | KILLED
  nlohmann::json result;     // when FINISHED
  bool has_result = false;
  nlohmann::json error;      // {message, errorClass, stack} when ERROR/KILLED
  int exit_status = -1;
  int signal = 0;
  std::string end_reason;
  // The result is what an exec job printed (no $SJS_RESULT file): over the result limit it is
  // dropped with a warning in the log, and the job stays FINISHED (exit 0 means it succeeded).
  bool result_is_stdout = false;
  std::string warning;       // a last line for the job's log ("" = none)
};

// Events from a runtime back to the service layer.
class JobSink {
 public:
  virtual ~JobSink() = default;
  virtual void job_started(const std::string& job_id, int pid) = 0;
  virtual void job_output(const std::string& job_id, std::string_view data) = 0;
  virtual void job_ended(const std::string& job_id, JobOutcome outcome) = 0;
  // A resident runtime's worker died on its own (not stopped). Called before its
  // jobs end through job_ended, so that the owner stops handing it queued jobs;
  // the owner decides whether to restart it (later, not from within this call).
  virtual void runtime_died(Runtime& runtime, const std::string& why) = 0;
  // A job's partition-server message (cluster_open, cluster_register, cluster_partition, cluster_ended).
  virtual void job_cluster(const std::string& job_id, const worker::FromWorker& msg) {
    (void)job_id;
    (void)msg;
  }
};

struct RuntimeOptions {
  double kill_grace_s = 5;        // SIGTERM (or cancel) to SIGKILL (or restart)
  std::string context_name;
  std::string log_path;           // resident workers: their stdout/stderr (the context log)
  double start_timeout_s = 120;   // resident workers: time to say hello
  LaunchPaths launch;             // sjsd.conf's launch paths, defaults resolved (resolve_launch_paths)
  ContextLimits limits;           // sjsd.conf's limits.*; make_runtime applies the context's own settings
  // Runs blocking file-system work off the core thread (unset: inline).
  std::function<void(std::function<void()>)> background;
};

class Runtime {
 public:
  virtual ~Runtime() = default;
  virtual std::string name() const = 0;
  // Which binary types this runtime runs: its entry of the runtime table says.
  bool accepts(const std::string& binary_type) const;
  // Brings the context up; `ready("")` when it is, `ready(error)` when it cannot be.
  virtual void start(std::function<void(const std::string& error)> ready) = 0;
  // Runs a job; reports through the sink: job_started, job_output*, job_ended once.
  virtual void run(JobRun run) = 0;
  // Asks a running job to stop; it still ends through job_ended (state KILLED, `reason`).
  virtual void cancel(const std::string& job_id, const std::string& reason) = 0;
  // Stops the context; running jobs must already have ended or been cancelled.
  virtual void stop(std::function<void()> stopped) = 0;
  // Named objects held by the context (jvm, spark); `error` non-empty if it has none.
  virtual void list_objects(std::function<void(std::vector<std::string>, const std::string& error)> done);
  // A partition-server message to the worker (resident runtimes; others drop it).
  virtual void send_cluster(const worker::ToWorker& msg) { (void)msg; }
};

// ---- the registry (registry.cpp): the daemon's half of the runtime table (sjs/runtimes.hpp) ----

// How one runtime of the table is launched.
struct RuntimeLauncher {
  std::string runtime;                  // a built runtime's name in the runtime table
  std::vector<std::string> conf_keys;   // the sjsd.conf keys (LaunchPaths) it reads, e.g. "jvm.java"
  // Fills in defaults for its keys that sjsd.conf left empty (JAVA_HOME, files next to sjsd...).
  std::function<void(LaunchPaths&)> resolve;
  // Whether it can run here with no setting of its own (spark: a Spark home is known); ad-hoc jobs
  // prefer available runtimes (BinaryTypeSpec::default_runtimes).
  std::function<bool(const LaunchPaths&)> available;
  // Makes a context's runtime; throws Error(bad_request) for settings that cannot work.
  std::function<std::unique_ptr<Runtime>(boost::asio::io_context&, JobSink&, const RuntimeOptions&,
                                         const nlohmann::json& settings)>
      make;
};

const std::vector<RuntimeLauncher>& runtime_launchers();
const RuntimeLauncher* find_launcher(const std::string& runtime);
// Fills in what sjsd.conf left empty, each launcher for its keys.
void resolve_launch_paths(LaunchPaths& paths);

// A runtime of the table that this build can run (it has a launcher).
bool is_known_runtime(const std::string& name);
// The runtime of an ad-hoc context for a binary type (the table's default runtimes, the first one
// available here: jar -> spark when the daemon knows a Spark home, else jvm).
std::string default_runtime_for(const std::string& binary_type, const LaunchPaths& launch);
// The runtime a spark-jobserver context-factory asks for, "" when none (python factories: pyspark when
// the daemon knows a Spark home, else python).
std::string runtime_for_context_factory(const std::string& factory, const LaunchPaths& launch);
// A new context's runtime and settings, checked against the table before anything starts: an unknown
// or unbuilt runtime, an unknown setting or a bad value, settings that cannot work here (spark without
// a Spark home). Throws Error(bad_request) saying which and what is accepted.
void check_new_context(const std::string& runtime, const nlohmann::json& settings, const RuntimeOptions& options);
std::unique_ptr<Runtime> make_runtime(const std::string& name, boost::asio::io_context& io, JobSink& sink,
                                      const RuntimeOptions& options, const nlohmann::json& settings);

}  // namespace sjs

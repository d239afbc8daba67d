// Every type that crosses the client protocol (CLI <-> daemon). The CLI and the
// daemon define no wire types of their own: they use these. docs/protocol.md
// describes each op with these field names.
//
// Envelope (one JSON object per frame):
//   request   {"id": N, "op": "job.submit", "args": {...}}
//   response  {"id": N, "ok": true,  "result": {...}}            (final)
//             {"id": N, "ok": true,  "more": true, "result": {...}} (a streamed part)
//             {"id": N, "ok": false, "error": {"code": "not_found", "message": "..."}}
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sjs {

constexpr int k_protocol_version = 1;

namespace op {
constexpr const char* k_hello = "hello";
constexpr const char* k_binary_upload = "binary.upload";
constexpr const char* k_binary_list = "binary.list";
constexpr const char* k_binary_show = "binary.show";
constexpr const char* k_binary_delete = "binary.delete";
constexpr const char* k_binary_steps = "binary.steps";
constexpr const char* k_context_create = "context.create";
constexpr const char* k_context_list = "context.list";
constexpr const char* k_context_show = "context.show";
constexpr const char* k_context_delete = "context.delete";
constexpr const char* k_context_restart = "context.restart";
constexpr const char* k_context_objects = "context.objects";
constexpr const char* k_job_submit = "job.submit";
constexpr const char* k_job_status = "job.status";
constexpr const char* k_job_result = "job.result";
constexpr const char* k_job_config = "job.config";
constexpr const char* k_job_log = "job.log";
constexpr const char* k_job_list = "job.list";
constexpr const char* k_job_kill = "job.kill";
constexpr const char* k_job_wait = "job.wait";
constexpr const char* k_daemon_status = "daemon.status";
constexpr const char* k_daemon_stop = "daemon.stop";
}  // namespace op

// Job states. QUEUED and RUNNING are live; the rest are final.
namespace job_state {
constexpr const char* k_queued = "QUEUED";
constexpr const char* k_running = "RUNNING";
constexpr const char* k_finished = "FINISHED";
constexpr const char* k_error = "ERROR";
constexpr const char* k_killed = "KILLED";
}  // namespace job_state
bool is_final_job_state(const std::string& state);
bool is_job_state(const std::string& state);

// A job's error object as stored and shown: {message, errorClass, stack: []}.
nlohmann::json job_error(const std::string& message, const std::string& error_class);

// Why a job ended the way it did, beyond its state ("" when nothing more to say).
namespace end_reason {
constexpr const char* k_user = "killed";                 // sjs job kill / context delete --force
constexpr const char* k_timeout = "timeout";             // ran past its --timeout
constexpr const char* k_validation = "validation";       // ERROR: VALIDATION FAILED
constexpr const char* k_loading = "loading";             // ERROR: the job's class or binary cannot be used (jvm, spark)
constexpr const char* k_shutdown = "shutdown";           // daemon stopped past the grace period
constexpr const char* k_daemon_restart = "daemon_restart";  // daemon died while it ran
}  // namespace end_reason

// Context states.
namespace context_state {
constexpr const char* k_starting = "STARTING";
constexpr const char* k_running = "RUNNING";
constexpr const char* k_stopping = "STOPPING";
constexpr const char* k_stopped = "STOPPED";
constexpr const char* k_error = "ERROR";
constexpr const char* k_restarting = "RESTARTING";
}  // namespace context_state

// ---- entities -------------------------------------------------------------

struct BinaryInfo {
  std::string name;
  int version = 0;           // 1, 2, ... per name
  std::string type;          // jar | exec | py | so
  std::uint64_t size = 0;
  std::string sha256;
  std::int64_t uploaded_ms = 0;
  int versions = 0;          // in listings: how many versions the name has
};

struct ContextInfo {
  std::string name;
  std::string id;            // uuid, new for every start
  std::string runtime;       // exec | jvm | spark | python | native
  std::string state;
  nlohmann::json settings = nlohmann::json::object();
  int max_jobs = 1;          // slots
  bool adhoc = false;
  std::int64_t created_ms = 0;
  std::int64_t started_ms = 0;
  std::int64_t stopped_ms = 0;
  int running = 0;
  int queued = 0;
  std::string error;
};

struct JobInfo {
  std::string id;            // uuid
  std::uint64_t seq = 0;     // submission order, for listings
  std::string binary;
  int binary_version = 0;
  std::string binary_type;
  std::string entry;
  std::vector<std::string> args;
  std::vector<std::string> dependencies;  // --with binaries as "name:version"
  std::string context;       // named context, or the ad-hoc context's name
  bool adhoc = false;
  std::string runtime;
  std::string state;
  int priority = 0;          // higher runs first
  std::string key;           // idempotency key, "" if none
  double timeout_s = 0;      // run-time limit, 0 = none
  std::int64_t submitted_ms = 0;
  std::int64_t started_ms = 0;
  std::int64_t ended_ms = 0;
  int exit_status = -1;      // exec: exit status, -1 if none
  int signal = 0;            // exec: terminating signal, 0 if none
  nlohmann::json error;      // null, or {message, errorClass, stack}
  std::string end_reason;    // see end_reason::
  bool has_result = false;
  int pid = 0;
  std::string callback_url;  // spark-jobserver's callbackUrl: POSTed to when the job ends, "" if none
  nlohmann::json steps;      // a step pipeline's steps [[name, arg...], ...]; null for other jobs
};

// ---- requests and results -------------------------------------------------

struct HelloArgs {
  int protocol = k_protocol_version;
  std::string client;
  std::vector<std::string> capabilities;
};
struct HelloResult {
  int protocol = k_protocol_version;
  std::string server;
  std::vector<std::string> capabilities;
  int pid = 0;
  std::string data_dir;
};

struct BinaryUploadArgs {
  std::string name;
  std::string path;          // absolute path the daemon reads (same uid, checked)
  std::string type;          // "" = detect from content
  std::string original_name; // file name for type detection ("" = the path's)
};
struct NameArgs {
  std::string name;
};
struct BinaryDeleteArgs {
  std::string name;
  int version = 0;           // 0 = every version
};
struct BinaryStepsArgs {
  std::string name;
  int version = 0;           // 0 = the newest
};
struct BinaryListResult {
  std::vector<BinaryInfo> binaries;   // newest version of each name
};
struct BinaryShowResult {
  std::string name;
  std::vector<BinaryInfo> versions;   // oldest first
};

struct ContextCreateArgs {
  std::string name;
  std::string runtime;       // "" = exec
  nlohmann::json settings = nlohmann::json::object();
  int max_jobs = 0;          // 0 = default
};
struct ContextDeleteArgs {
  std::string name;
  bool force = false;        // kill running jobs; otherwise refuse while jobs run
};
struct ContextListResult {
  std::vector<ContextInfo> contexts;
};

struct JobSubmitArgs {
  std::string binary;
  std::string entry;
  std::vector<std::string> args;
  std::vector<std::string> with;  // more binaries on the job's classpath (dependency jars)
  std::string context;       // "" = ad-hoc
  nlohmann::json config = nlohmann::json::object();
  int priority = 0;
  double timeout_s = 0;
  std::string key;
  bool sync = false;         // answer when the job ends
  double wait_timeout_s = 0; // with sync: stop waiting after this long (0 = forever)
  std::string callback_url;  // http(s):// URL POSTed to when the job ends (docs/http-api.md, "Callbacks")
  nlohmann::json steps;      // a step pipeline on the binary (a step library), no entry; null = a job
};
struct JobIdArgs {
  std::string id;
};
struct JobWaitArgs {
  std::string id;
  double timeout_s = 0;      // 0 = forever
};
struct JobLogArgs {
  std::string id;
  std::uint64_t from = 0;    // byte offset
  bool follow = false;       // stream until the job ends
};
struct JobListArgs {
  int limit = 50;
  std::string state;         // "" = any
  std::vector<std::string> states;  // any of these (besides `state`); empty = no more
  std::string context;       // "" = any
  std::uint64_t before_seq = 0;  // page: only jobs with a smaller seq (0 = newest)
};

// job.submit, job.wait, job.status, job.result, job.kill answer with this.
struct JobResult {
  JobInfo job;
  nlohmann::json result;     // the job's result when asked for and FINISHED
  bool existing = false;     // job.submit: the key matched an earlier job
  bool wait_timed_out = false;
};
struct JobConfigResult {
  nlohmann::json config;
};
struct JobLogChunk {
  std::string data;
  std::uint64_t offset = 0;  // offset of data in the log
  bool done = false;         // final chunk: the job has ended
  std::string state;         // with done: the job's final state
};
struct JobListResult {
  std::vector<JobInfo> jobs;
};

struct DaemonStatusResult {
  std::string version;
  int pid = 0;
  std::string data_dir;
  std::string socket;
  std::string http_url;      // "" when HTTP is off
  std::int64_t started_ms = 0;
  int contexts = 0;
  int queued = 0;
  int running = 0;
  std::uint64_t jobs_total = 0;
};

// JSON conversions. Missing fields take their defaults.
#define SJS_DEFINE_JSON(T, ...) NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(T, __VA_ARGS__)

SJS_DEFINE_JSON(BinaryInfo, name, version, type, size, sha256, uploaded_ms, versions)
SJS_DEFINE_JSON(ContextInfo, name, id, runtime, state, settings, max_jobs, adhoc, created_ms, started_ms,
                stopped_ms, running, queued, error)
SJS_DEFINE_JSON(JobInfo, id, seq, binary, binary_version, binary_type, entry, args, dependencies, context, adhoc, runtime,
                state, priority, key, timeout_s, submitted_ms, started_ms, ended_ms, exit_status, signal, error,
                end_reason, has_result, pid, callback_url, steps)
SJS_DEFINE_JSON(HelloArgs, protocol, client, capabilities)
SJS_DEFINE_JSON(HelloResult, protocol, server, capabilities, pid, data_dir)
SJS_DEFINE_JSON(BinaryUploadArgs, name, path, type, original_name)
SJS_DEFINE_JSON(NameArgs, name)
SJS_DEFINE_JSON(BinaryDeleteArgs, name, version)
SJS_DEFINE_JSON(BinaryStepsArgs, name, version)
SJS_DEFINE_JSON(BinaryListResult, binaries)
SJS_DEFINE_JSON(BinaryShowResult, name, versions)
SJS_DEFINE_JSON(ContextCreateArgs, name, runtime, settings, max_jobs)
SJS_DEFINE_JSON(ContextDeleteArgs, name, force)
SJS_DEFINE_JSON(ContextListResult, contexts)
SJS_DEFINE_JSON(JobSubmitArgs, binary, entry, args, with, context, config, priority, timeout_s, key, sync,
                wait_timeout_s, callback_url, steps)
SJS_DEFINE_JSON(JobIdArgs, id)
SJS_DEFINE_JSON(JobWaitArgs, id, timeout_s)
SJS_DEFINE_JSON(JobLogArgs, id, from, follow)
SJS_DEFINE_JSON(JobListArgs, limit, state, states, context, before_seq)
SJS_DEFINE_JSON(JobResult, job, result, existing, wait_timed_out)
SJS_DEFINE_JSON(JobConfigResult, config)
SJS_DEFINE_JSON(JobLogChunk, data, offset, done, state)
SJS_DEFINE_JSON(JobListResult, jobs)
SJS_DEFINE_JSON(DaemonStatusResult, version, pid, data_dir, socket, http_url, started_ms, contexts, queued, running,
                jobs_total)
#undef SJS_DEFINE_JSON

// Parses request args into T; a type mismatch becomes Error(usage) naming the field.
template <typename T>
T parse_args(const nlohmann::json& args);

}  // namespace sjs

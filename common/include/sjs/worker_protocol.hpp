// The worker protocol (docs/worker-protocol.md): how sjsd talks to a resident
// context worker over a socketpair. Same framing as the client protocol
// (framing.hpp); every message is a JSON object with a string "type".
//
// Every message is a struct here, with its JSON mapping: to_json writes the
// whole message, "type" included; from_json checks it strictly and throws
// Error(protocol) naming the message, the field and the problem. The daemon
// (daemon/runtimes/worker_runtime.cpp) builds and reads worker messages only
// through these; a C++ worker would use the same structs the other way round.
// Unknown fields are ignored in both directions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace sjs::worker {

// The version both sides must speak: the worker says its own in its hello and
// the daemon refuses any other (check_hello). Bump it on any change a peer of
// the previous version would misread: a new required field, a new message, a
// changed meaning. Optional additions are announced as capabilities instead.
constexpr int k_protocol_version = 1;
constexpr int k_fd = 3;  // the worker's end of the socketpair
constexpr const char* k_fd_env = "SJS_WORKER_FD";

// daemon -> worker
constexpr const char* k_run = "run";
constexpr const char* k_cancel = "cancel";
constexpr const char* k_objects = "objects";  // also the worker's answer
constexpr const char* k_shutdown = "shutdown";
constexpr const char* k_cluster_opened = "cluster_opened";  // answers cluster_open
constexpr const char* k_cluster_stop = "cluster_stop";

// worker -> daemon
constexpr const char* k_hello = "hello";
constexpr const char* k_started = "started";
constexpr const char* k_log = "log";
constexpr const char* k_progress = "progress";
constexpr const char* k_finished = "finished";
constexpr const char* k_failed = "failed";
constexpr const char* k_error = "error";
// Partition servers (docs/partition-servers.md): only from workers with the "clusters" capability.
constexpr const char* k_cluster_open = "cluster_open";
constexpr const char* k_cluster_register = "cluster_register";
constexpr const char* k_cluster_partition = "cluster_partition";
constexpr const char* k_cluster_ended = "cluster_ended";

// hello.capabilities the JVM runner announces.
constexpr const char* k_capability_named_objects = "named-objects";  // answers `objects`
constexpr const char* k_capability_cancel = "cancel";                // honours `cancel`
constexpr const char* k_capability_clusters = "clusters";            // ctx.serve_partitions

// ---- daemon -> worker -------------------------------------------------------

// One stored binary version a job uses; the job's own binary comes first.
struct Binary {
  std::string name;
  int version = 0;
  std::string sha256;  // a worker may cache loaders by it: same sha, same bytes
  std::string path;    // the stored blob, readable by the worker
};

// Validate, then run a job on a new thread.
struct Run {
  std::string job;    // the job id
  std::string entry;  // class name (jvm, spark)
  std::vector<Binary> binaries;
  nlohmann::json config = nlohmann::json::object();  // the job's config, secrets included
  std::string context;                               // the context's name
  // A step pipeline (`sjs job submit LIB --steps`): [[name, arg...], ...], entry "". Null: not a
  // pipeline, and not sent. Only for workers whose hello has the "steps" capability.
  nlohmann::json steps;
  // The job's cluster token: registrations of its partition servers must carry it. "": not sent.
  std::string cluster_token;
};

// Stop a job: it still ends with exactly one `failed` (kind killed) or `finished`.
struct Cancel {
  std::string job;
};

// List named objects; answered by ObjectsAnswer with the same id.
struct ObjectsRequest {
  std::uint64_t id = 0;
};

// Stop every job, stop Spark, exit 0.
struct Shutdown {};

// The daemon's answer to ClusterOpen (same id): error "" = open, else why not.
struct ClusterOpened {
  std::uint64_t id = 0;
  std::string error;
};

// Stop a cluster: its servers stop, the worker collects results and sends ClusterEnded.
struct ClusterStop {
  std::string job;
  std::string cluster;
};

// ---- worker -> daemon -------------------------------------------------------

// The Spark a `spark` worker created.
struct SparkInfo {
  std::string version;
  std::string master;
  std::string application_id;  // "applicationId" on the wire
};

// The worker's first message: it is ready to run jobs.
struct Hello {
  int protocol = 0;      // the worker's k_protocol_version
  std::string runtime;   // jvm | spark | ...
  std::int64_t pid = 0;  // the worker's own process id (may differ from the spawned one)
  std::vector<std::string> capabilities;
  std::string version;             // the worker's platform version (the JVM's java.version), "" if none
  std::optional<SparkInfo> spark;  // only when a SparkContext was created
};

struct Started {
  std::string job;
};

// One line from the job's logger (no newline).
struct Log {
  std::string job;
  std::string data;
};

struct Progress {
  std::string job;
  double value = 0;     // 0..1
  std::string message;  // "" if none
};

struct Finished {
  std::string job;
  nlohmann::json result;  // any JSON, null included
};

// Why a job did not finish.
enum class FailureKind {
  validation,  // its validate() returned problems (error.stack lists them) or threw
  loading,     // its class or binary cannot be used: not found, not a job, bad jar, bad run message
  error,       // it threw
  killed,      // it stopped after `cancel` (or `shutdown`)
};
std::string_view to_string(FailureKind kind);
// Throws Error(protocol) for an unknown kind.
FailureKind failure_kind_from_string(std::string_view kind);

struct Failed {
  std::string job;
  FailureKind kind = FailureKind::error;
  nlohmann::json error;  // {message: string, errorClass: string, stack: [string]}
};

// The answer to ObjectsRequest.
struct ObjectsAnswer {
  std::uint64_t id = 0;
  std::vector<std::string> names;
};

// The worker could not understand a message of the daemon's.
struct ErrorReport {
  std::string message;
};

// A job opens a cluster of `partitions` partition servers; answered by ClusterOpened.
struct ClusterOpen {
  std::uint64_t id = 0;
  std::string job;
  std::string cluster;
  std::int64_t partitions = 0;
};

// A partition server is up: where it answers. Replaces an earlier registration of the partition.
struct ClusterRegister {
  std::string job;
  std::string cluster;
  std::int64_t partition = 0;
  std::string host;
  std::int64_t port = 0;
  std::string token;
};

// A partition server failed: DOWN until it registers again.
struct ClusterPartition {
  std::string job;
  std::string cluster;
  std::int64_t partition = 0;
  std::string error;
};

// Every server of the cluster stopped: error "" = STOPPED with `results` (one per partition), else
// FAILED; `killed`: its job was killed (STOPPED, `error` says so).
struct ClusterEnded {
  std::string job;
  std::string cluster;
  nlohmann::json results;
  std::string error;
  bool killed = false;
};

// ---- decoding ---------------------------------------------------------------

// What a worker may send.
using FromWorker = std::variant<Hello, Started, Log, Progress, Finished, Failed, ObjectsAnswer, ErrorReport,
                                ClusterOpen, ClusterRegister, ClusterPartition, ClusterEnded>;
// What the daemon may send.
using ToWorker = std::variant<Run, Cancel, ObjectsRequest, Shutdown, ClusterOpened, ClusterStop>;

// A message from a worker, decoded and checked: every required field present
// with its type. Throws Error(protocol) on anything else (not an object, no
// string "type", an unknown type, a missing field, a wrong type), with a
// message naming the problem.
FromWorker decode(const nlohmann::json& message);
// The same from a frame's payload; a payload that is not JSON throws Error(protocol).
FromWorker decode_frame(std::string_view payload);

// A message from the daemon, for a worker written in C++ (and the tests).
ToWorker decode_for_worker(const nlohmann::json& message);

// The daemon's check of a worker's first message: it must be a hello of
// k_protocol_version. The version is checked before any other field, so that a
// worker of another version is told so rather than that a field is missing.
// Throws Error(protocol): "worker speaks protocol 2, sjsd speaks 1: ...".
Hello check_hello(const nlohmann::json& message);
Hello check_hello_frame(std::string_view payload);

// The whole message as JSON, "type" included.
nlohmann::json encode(const FromWorker& message);
nlohmann::json encode(const ToWorker& message);

// ---- JSON mapping (nlohmann ADL) --------------------------------------------

#define SJS_WORKER_MESSAGE(T)                  \
  void to_json(nlohmann::json& j, const T& m); \
  void from_json(const nlohmann::json& j, T& m);

SJS_WORKER_MESSAGE(Binary)
SJS_WORKER_MESSAGE(Run)
SJS_WORKER_MESSAGE(Cancel)
SJS_WORKER_MESSAGE(ObjectsRequest)
SJS_WORKER_MESSAGE(Shutdown)
SJS_WORKER_MESSAGE(SparkInfo)
SJS_WORKER_MESSAGE(Hello)
SJS_WORKER_MESSAGE(Started)
SJS_WORKER_MESSAGE(Log)
SJS_WORKER_MESSAGE(Progress)
SJS_WORKER_MESSAGE(Finished)
SJS_WORKER_MESSAGE(Failed)
SJS_WORKER_MESSAGE(ObjectsAnswer)
SJS_WORKER_MESSAGE(ErrorReport)
SJS_WORKER_MESSAGE(ClusterOpened)
SJS_WORKER_MESSAGE(ClusterStop)
SJS_WORKER_MESSAGE(ClusterOpen)
SJS_WORKER_MESSAGE(ClusterRegister)
SJS_WORKER_MESSAGE(ClusterPartition)
SJS_WORKER_MESSAGE(ClusterEnded)
#undef SJS_WORKER_MESSAGE

}  // namespace sjs::worker

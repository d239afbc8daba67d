// The worker protocol (docs/worker-protocol.md): how sjsd talks to a resident
// context worker over a socketpair. Same framing as the client protocol
// (framing.hpp); every message is a JSON object with a string "type".
#pragma once

namespace sjs::worker {

constexpr int k_protocol_version = 1;
constexpr int k_fd = 3;  // the worker's end of the socketpair
constexpr const char* k_fd_env = "SJS_WORKER_FD";

// daemon -> worker
constexpr const char* k_run = "run";            // {job, entry, binaries[{name,version,sha256,path}], config, context}
constexpr const char* k_cancel = "cancel";      // {job}
constexpr const char* k_objects = "objects";    // {id}  (also the answer: {id, names})
constexpr const char* k_shutdown = "shutdown";  // {}

// worker -> daemon
constexpr const char* k_hello = "hello";        // {protocol, runtime, pid, capabilities, version, spark?}
constexpr const char* k_started = "started";    // {job}
constexpr const char* k_log = "log";            // {job, data}
constexpr const char* k_progress = "progress";  // {job, value, message}
constexpr const char* k_finished = "finished";  // {job, result}
constexpr const char* k_failed = "failed";      // {job, kind, error{message, errorClass, stack}}
constexpr const char* k_error = "error";        // {message}

// failed.kind
constexpr const char* k_kind_validation = "validation";
constexpr const char* k_kind_loading = "loading";
constexpr const char* k_kind_error = "error";
constexpr const char* k_kind_killed = "killed";

}  // namespace sjs::worker

// One error type for the whole product, and the one table that maps each error
// code to a CLI exit code and an HTTP status. Handlers throw sjs::Error; the
// front ends turn it into {code, message} on the wire; the CLI turns the code
// into its exit status.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace sjs {

enum class ErrorCode {
  usage,              // the command line or request is malformed
  bad_request,        // well-formed, but a value is invalid (bad name, bad config, ...)
  not_found,          // binary, context or job does not exist
  already_exists,     // a context with that name exists
  in_use,             // binary needed by a queued/running job; context busy
  validation_failed,  // the runtime rejected the job's config
  too_large,          // a frame, body or result over its limit
  busy,               // a configured queue bound is reached
  unauthorized,       // missing credentials (HTTP)
  forbidden,          // credentials lack a permission (HTTP), or peer uid refused
  unavailable,        // the daemon is unreachable or shutting down
  protocol,           // garbage on the wire, unsupported protocol version
  timeout,            // a client-side wait expired
  storage_full,       // the disk under the data dir, or the store's LMDB map, is full
  internal,           // a bug or an I/O failure inside the daemon
};

struct ErrorInfo {
  ErrorCode code;
  std::string_view name;  // on the wire: "not_found"
  int exit_code;          // the CLI's exit status for this error
  int http_status;        // the HTTP front end's status for this error
  std::string_view meaning;
};

// The table (errors.cpp). Documented in docs/protocol.md and `sjs --help`.
const std::vector<ErrorInfo>& error_table();
const ErrorInfo& error_info(ErrorCode code);
std::string_view error_name(ErrorCode code);
// Unknown names map to internal.
ErrorCode error_code_from_name(std::string_view name);

// `details` names what the error is about ({"job": id}, {"binary": name}, {"context": name}, ...), so a
// front end can shape its answer without reading the message text. Null when there is nothing to name.
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message, nlohmann::json details = nullptr)
      : std::runtime_error(message), m_code(code), m_details(std::move(details)) {}
  ErrorCode code() const { return m_code; }
  int exit_code() const { return error_info(m_code).exit_code; }
  const nlohmann::json& details() const { return m_details; }
  // A string detail ("job", "binary", ...), or "" when absent.
  std::string detail(const char* key) const;

 private:
  ErrorCode m_code;
  nlohmann::json m_details;
};

// The wire shape of an error: {"code", "message"[, "details"]}, and back (an unknown code is internal).
nlohmann::json error_to_json(const Error& e);
Error error_from_json(const nlohmann::json& j);

// Exit codes that report a job's outcome (`submit --sync`, `wait`, `log --follow`).
// They share one number space with the error codes above; see error_table().
namespace exit_code {
constexpr int k_ok = 0;                 // job FINISHED / command succeeded
constexpr int k_job_failed = 1;         // job ended in ERROR
constexpr int k_usage = 2;              // bad command-line usage
constexpr int k_validation_failed = 3;  // the job's config failed validation
constexpr int k_job_killed = 4;         // job was KILLED
constexpr int k_job_timed_out = 5;      // job exceeded its --timeout and was killed
constexpr int k_wait_timeout = 6;       // --wait-timeout expired; the job goes on
constexpr int k_not_found = 7;
constexpr int k_bad_input = 8;
constexpr int k_conflict = 9;
constexpr int k_unavailable = 10;       // daemon unreachable / shutting down
constexpr int k_busy = 11;
constexpr int k_denied = 12;
constexpr int k_internal = 13;          // protocol or internal error
constexpr int k_storage_full = 14;      // the daemon's disk or store is full: nothing was stored
}  // namespace exit_code

struct OutcomeInfo {
  int exit_code;
  std::string_view meaning;
};
// The job-outcome half of the exit-code table, for docs and `sjs --help`.
const std::vector<OutcomeInfo>& outcome_table();

}  // namespace sjs

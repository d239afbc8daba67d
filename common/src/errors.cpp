#include "sjs/errors.hpp"

namespace sjs {

const std::vector<ErrorInfo>& error_table() {
  namespace x = exit_code;
  static const std::vector<ErrorInfo> k_table = {
      {ErrorCode::usage, "usage", x::k_usage, 400, "malformed command line or request"},
      {ErrorCode::bad_request, "bad_request", x::k_bad_input, 400, "an invalid value: name, config, file"},
      {ErrorCode::not_found, "not_found", x::k_not_found, 404, "no such binary, context or job"},
      {ErrorCode::already_exists, "already_exists", x::k_conflict, 400, "a context of that name exists"},
      {ErrorCode::in_use, "in_use", x::k_conflict, 403, "needed by a queued or running job"},
      {ErrorCode::validation_failed, "validation_failed", x::k_validation_failed, 400,
       "the job's config failed validation"},
      {ErrorCode::too_large, "too_large", x::k_bad_input, 413, "over a size limit"},
      {ErrorCode::busy, "busy", x::k_busy, 503, "the context's queue bound is reached"},
      {ErrorCode::unauthorized, "unauthorized", x::k_denied, 401, "credentials required"},
      {ErrorCode::forbidden, "forbidden", x::k_denied, 403, "permission denied"},
      {ErrorCode::unavailable, "unavailable", x::k_unavailable, 503, "daemon unreachable or shutting down"},
      {ErrorCode::protocol, "protocol", x::k_internal, 400, "garbage or an unsupported protocol version"},
      {ErrorCode::timeout, "timeout", x::k_wait_timeout, 504, "a wait expired; the job goes on"},
      {ErrorCode::storage_full, "storage_full", x::k_storage_full, 507,
       "the daemon's disk or store is full; nothing was stored"},
      {ErrorCode::internal, "internal", x::k_internal, 500, "a failure inside the daemon"},
  };
  return k_table;
}

const ErrorInfo& error_info(ErrorCode code) {
  for (const auto& e : error_table()) {
    if (e.code == code) return e;
  }
  return error_table().back();
}

std::string_view error_name(ErrorCode code) { return error_info(code).name; }

ErrorCode error_code_from_name(std::string_view name) {
  for (const auto& e : error_table()) {
    if (e.name == name) return e.code;
  }
  return ErrorCode::internal;
}

const std::vector<OutcomeInfo>& outcome_table() {
  namespace x = exit_code;
  static const std::vector<OutcomeInfo> k_table = {
      {x::k_ok, "success; the job FINISHED"},
      {x::k_job_failed, "the job ended in ERROR"},
      {x::k_usage, "bad command-line usage"},
      {x::k_validation_failed, "the job's config failed validation"},
      {x::k_job_killed, "the job was KILLED"},
      {x::k_job_timed_out, "the job ran past its --timeout and was killed"},
      {x::k_wait_timeout, "--wait-timeout expired; the job goes on"},
      {x::k_not_found, "no such binary, context or job"},
      {x::k_bad_input, "invalid input: name, config, file, size"},
      {x::k_conflict, "conflict: exists already, or in use"},
      {x::k_unavailable, "the daemon is unreachable or shutting down"},
      {x::k_busy, "the queue is full (configured bound)"},
      {x::k_denied, "permission denied"},
      {x::k_internal, "protocol or internal error"},
      {x::k_storage_full, "the daemon's storage is full: free space or raise store.map-size-mb"},
  };
  return k_table;
}

std::string Error::detail(const char* key) const {
  if (!m_details.is_object()) return "";
  auto it = m_details.find(key);
  return it != m_details.end() && it->is_string() ? it->get<std::string>() : std::string();
}

nlohmann::json error_to_json(const Error& e) {
  nlohmann::json j = {{"code", std::string(error_name(e.code()))}, {"message", e.what()}};
  if (!e.details().is_null()) j["details"] = e.details();
  return j;
}

Error error_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return Error(ErrorCode::internal, "unknown error");
  const auto code = j.find("code");
  const auto message = j.find("message");
  const auto details = j.find("details");
  return Error(error_code_from_name(code != j.end() && code->is_string() ? code->get<std::string>() : "internal"),
               message != j.end() && message->is_string() ? message->get<std::string>() : "unknown error",
               details != j.end() ? *details : nlohmann::json());
}

}  // namespace sjs

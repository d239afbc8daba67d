// The spark-jobserver routes' shared shapes, parsing and reports (sjs_api.hpp).
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <optional>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "http/routes.hpp"
#include "http/sjs_api.hpp"
#include "sjs/config.hpp"
#include "sjs/hocon.hpp"
#include "sjs/paths.hpp"
#include "sjs/util.hpp"

namespace sjs::jobserver {

// ---- shapes ---------------------------------------------------------------------

HttpResponse json_response(int status, const json& body) {
  // Messages may quote client input (a Content-Type, a name): never fail on bad UTF-8.
  return HttpResponse{status, "application/json", body.dump(-1, ' ', false, json::error_handler_t::replace), {}};
}

HttpResponse e1(int status, const std::string& message) {
  return json_response(status, json{{"status", "ERROR"}, {"result", message}});
}

HttpResponse e2(int status, const std::string& label, const json& error) {
  return json_response(status, json{{"status", label}, {"result", error}});
}

HttpResponse success(int status, const std::string& message) {
  json body = {{"status", "SUCCESS"}};
  if (!message.empty()) body["result"] = message;
  return json_response(status, body);
}

// A service error in spark-jobserver's shape: E1 with the error table's status;
// an internal failure is 500 E2 "ERROR"; a queue bound is 503 NO SLOTS AVAILABLE.
HttpResponse from_error(const Error& e) {
  if (e.code() == ErrorCode::internal) return e2(500, "ERROR", job_error(e.what(), "sjs.InternalError"));
  if (e.code() == ErrorCode::busy) {
    return json_response(503, json{{"status", "NO SLOTS AVAILABLE"}, {"result", e.what()}});
  }
  return e1(error_info(e.code()).http_status, e.what());
}

// ---- request helpers ------------------------------------------------------------

std::string trim_ws(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const auto comma = s.find(',', start);
    std::string item = trim_ws(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// A config value that lists names: a list of strings, or one comma-separated string.
std::vector<std::string> config_list(const json& config, const char* key) {
  if (!config.is_object() || !config.contains(key)) return {};
  const json& v = config.at(key);
  if (v.is_string()) return split_list(v.get<std::string>());
  std::vector<std::string> out;
  if (v.is_array()) {
    for (const auto& item : v) {
      if (item.is_string() && !trim_ws(item.get<std::string>()).empty()) out.push_back(trim_ws(item.get<std::string>()));
    }
  }
  return out;
}

// "true"/"false" (any case); nullopt for anything else.
std::optional<bool> parse_bool(const std::string& v) {
  const std::string l = ascii_lower(v);
  if (l == "true" || l == "1" || l == "yes" || l == "on") return true;
  if (l == "false" || l == "0" || l == "no" || l == "off") return false;
  return std::nullopt;
}

std::optional<double> parse_seconds(const std::string& v) {
  if (v.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double d = std::strtod(v.c_str(), &end);
  if (errno || *end || !(d >= 0) || d > 1e9) return std::nullopt;
  return d;
}

std::optional<long> parse_int(const std::string& v) {
  if (v.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const long n = std::strtol(v.c_str(), &end, 10);
  if (errno || *end) return std::nullopt;
  return n;
}

// A job or context config: HOCON, JSON, or form-encoded `k=v&k2=v2` (python-sjsclient
// sends dicts that way). Throws Error(bad_request) with the parser's message.
json parse_body_config(const std::string& body, const std::string& origin) {
  if (trim_ws(body).empty()) return json::object();
  if (looks_form_encoded(body)) {
    try {
      return parse_form_config(body);
    } catch (const HoconError& e) {
      throw Error(ErrorCode::bad_request, origin + " (form-encoded): " + e.what());
    }
  }
  return parse_config_text(body, origin);
}

// A query parameter's value typed like a HOCON unquoted value: 2 and 1.5 are numbers,
// true/false booleans, anything else ("512m", "local[4]") stays a string.
// ---- reports --------------------------------------------------------------------

// spark-jobserver's job states: sjs's QUEUED shows as RUNNING (its clients know
// RUNNING, and poll until FINISHED); the real state is in the extra "sjsState" field.
std::string api_job_state(const std::string& state) {
  return state == job_state::k_queued ? std::string(job_state::k_running) : state;
}

// Scala's `millis / 1000.0 + " secs"`: "6.341 secs", "1.0 secs", "0.012 secs".
std::string secs(std::int64_t ms) {
  if (ms < 0) ms = 0;
  std::string frac = std::to_string(1000 + ms % 1000).substr(1);
  while (frac.size() > 1 && frac.back() == '0') frac.pop_back();
  return std::to_string(ms / 1000) + "." + frac + " secs";
}

json job_error(const JobInfo& j) {
  if (j.error.is_object()) return j.error;
  if (j.state == job_state::k_killed) return job_error("Job " + j.id + " killed", "sjs.JobKilled");
  return job_error("job " + j.id + " ended " + j.state, "sjs.Error");
}

std::map<std::string, std::string> context_ids(const Service& s) {
  std::map<std::string, std::string> ids;
  for (const auto& c : s.list_contexts().contexts) ids[c.name] = c.id;
  return ids;
}

// The job report (GET /jobs, GET /jobs/<id>, the 202 of POST /jobs). `started`:
// the 202 reply of a submission, whose status is STARTED.
json job_report(const JobInfo& j, const std::map<std::string, std::string>& ids, bool started) {
  const std::int64_t start = j.started_ms ? j.started_ms : j.submitted_ms;
  const auto id = ids.find(j.context);
  json r = {{"jobId", j.id},
            {"startTime", format_local(start)},
            {"classPath", j.entry},
            {"context", j.context.empty() ? "<<ad-hoc>>" : j.context},
            {"contextId", id == ids.end() ? "" : id->second},
            {"duration", is_final_job_state(j.state) ? secs(j.ended_ms - start) : "Job not done yet"}};
  if (started) {
    r["status"] = "STARTED";
  } else {
    r["status"] = api_job_state(j.state);
    if (j.state == job_state::k_error || j.state == job_state::k_killed) r["result"] = job_error(j);
  }
  r["sjsState"] = j.state;
  return r;
}

// spark-jobserver's context states: STARTING shows as STARTED, STOPPED as FINISHED.
std::string api_context_state(const std::string& state) {
  if (state == context_state::k_starting) return "STARTED";
  if (state == context_state::k_stopped) return "FINISHED";
  return state;
}

json context_report(const ContextInfo& c) {
  return json{{"id", c.id},
              {"name", c.name},
              {"startTime", format_utc(c.started_ms ? c.started_ms : c.created_ms)},
              {"endTime", c.stopped_ms ? format_utc(c.stopped_ms) : "Empty"},
              {"state", api_context_state(c.state)},
              {"runtime", c.runtime}};
}

// binary-type: spark-jobserver's "Jar" for jars; sjs's other types by their own names.
bool Call::permitted(const std::string& permission) const {
  if (req.allowed(permission)) return true;
  send(e1(403, "Permission denied: this needs the " + permission + " permission"));
  return false;
}

void Call::method_not_allowed(const std::string& allowed) const {
  HttpResponse r = e1(405, "method " + req.method + " is not allowed on " + req.path + " (allowed: " + allowed + ")");
  r.headers.emplace_back("Allow", allowed);
  send(std::move(r));
}

std::string bad_segment(const std::vector<std::string>& segments, std::size_t from) {
  for (std::size_t i = from; i < segments.size(); ++i) {
    const std::string& s = segments[i];
    if (s == "." || s == "..") return "a name may not be \".\" or \"..\"";
    if (s.find('/') != std::string::npos) return "a name may not contain '/' (\"" + s.substr(0, 200) + "\")";
    if (s.find('\0') != std::string::npos) return "a name may not contain a NUL byte";
  }
  return "";
}

// The first bytes of an upload.
}  // namespace sjs::jobserver

// What the spark-jobserver routes (routes_binaries.cpp, routes_contexts.cpp,
// routes_jobs.cpp, routes_data.cpp, dispatched by routes_sjs.cpp) share: the
// reference's answer shapes, request parsing, and the job and context reports.
// Translation only: no operation is implemented here.
//
// Shapes (names from ../shared/reference/spark-jobserver-api.md):
//   E1 {"status":"ERROR","result":"<message>"}
//   E2 {"status":"<LABEL>","result":{"message","errorClass","stack"}}
//   S  {"status":"SUCCESS"[,"result":"<message>"]}
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/http_types.hpp"
#include "service.hpp"
#include "sjs/errors.hpp"
#include "sjs/messages.hpp"

namespace sjs::jobserver {

using json = nlohmann::json;
using Res = std::shared_ptr<HttpResponder>;

// ---- shapes
HttpResponse json_response(int status, const json& body);
HttpResponse e1(int status, const std::string& message);
HttpResponse e2(int status, const std::string& label, const json& error);
HttpResponse success(int status, const std::string& message = "");
// A service error in spark-jobserver's shape: E1 with the error table's status; an internal
// failure is 500 E2 "ERROR"; a queue bound is 503 NO SLOTS AVAILABLE.
HttpResponse from_error(const Error& e);

// ---- request helpers
std::string trim_ws(const std::string& s);
// "a, b,,c" -> {"a", "b", "c"}
std::vector<std::string> split_list(const std::string& s);
// A config value that lists names: a list of strings, or one comma-separated string.
std::vector<std::string> config_list(const json& config, const char* key);
// "true"/"false" (also 1/0, yes/no, on/off; any case); nullopt for anything else.
std::optional<bool> parse_bool(const std::string& v);
std::optional<double> parse_seconds(const std::string& v);
std::optional<long> parse_int(const std::string& v);
// A job or context config: HOCON, JSON, or form-encoded `k=v&k2=v2` (python-sjsclient sends
// dicts that way). Throws Error(bad_request) with the parser's message.
json parse_body_config(const std::string& body, const std::string& origin);
// Path segments that name things: "" if fine, else why not (no '/', NUL, "." or "..").
std::string bad_segment(const std::vector<std::string>& segments, std::size_t from);

// ---- reports
// spark-jobserver's job states: sjs's QUEUED shows as RUNNING; the real state is in "sjsState".
std::string api_job_state(const std::string& state);
// A job's error object, or one that says how it ended.
json job_error(const JobInfo& j);
using sjs::job_error;  // (message, errorClass)
std::map<std::string, std::string> context_ids(const Service& s);
// The job report (GET /jobs, GET /jobs/<id>, the 202 of POST /jobs). `started`: the 202 reply of a
// submission, whose status is STARTED.
json job_report(const JobInfo& j, const std::map<std::string, std::string>& ids, bool started = false);
json context_report(const ContextInfo& c);

// ---- the router
struct Call {
  Service& s;
  const HttpRequest& req;
  const Res& res;

  void send(HttpResponse r) const { res->send(std::move(r)); }
  // 403 unless the user holds `permission` (always granted with auth off).
  bool permitted(const std::string& permission) const;
  void method_not_allowed(const std::string& allowed) const;
};

// Runs `fn` inside a service callback: an exception must not escape into the service.
template <typename Fn>
void guarded(const Res& res, Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    res->send(from_error(e));
  } catch (const std::exception& e) {
    res->send(e2(500, "ERROR", sjs::job_error(e.what(), "sjs.InternalError")));
  }
}

// One route family each (routes_<family>.cpp). route_jobs: false if not one of its routes.
void route_binaries(const Call& c, bool legacy_jars);
void route_contexts(const Call& c);
bool route_jobs(const Call& c);
void route_data(const Call& c);
void route_pipelines(const Call& c);
void route_clusters(const Call& c);
// POST /jobs/submit and GET /jobs/status/<id> (routes_pipelines.cpp); false if neither.
bool route_pipeline_compat(const Call& c);
// The answer to a sync submission (POST /jobs?sync=true) once the job has ended or the wait expired.
void answer_sync(Service& s, JobResult r, const Res& res);

}  // namespace sjs::jobserver

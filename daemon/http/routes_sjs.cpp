// spark-jobserver's REST API (../shared/reference/spark-jobserver-api.md), documented
// in docs/http-api.md: the dispatcher. Each family is in routes_<family>.cpp; what they
// share in sjs_api.hpp. Every route translates a request into service calls and the
// answer into spark-jobserver's shapes; no operation is implemented here.
#include <spdlog/spdlog.h>

#include "http/routes.hpp"
#include "http/sjs_api.hpp"

namespace sjs {

using namespace jobserver;

// What a callbackUrl receives (spark-jobserver's shapes): {jobId, result} when the job
// finished, {jobId, status: "ERROR", result: {message, errorClass, stack}} otherwise.
json callback_body(const JobResult& r) {
  if (r.job.state == job_state::k_finished) return json{{"jobId", r.job.id}, {"result", r.result}};
  return json{{"jobId", r.job.id}, {"status", "ERROR"}, {"result", job_error(r.job)}};
}


bool route_sjs(Service& service, const HttpRequest& req, const std::shared_ptr<HttpResponder>& responder) {
  const auto& seg = req.segments;
  if (seg.empty()) return false;
  const std::string& area = seg[0];
  if (area != "binaries" && area != "jars" && area != "contexts" && area != "jobs" && area != "data" &&
      area != "healthz" && area != "pipelines" && area != "clusters") {
    return false;
  }
  const Call c{service, req, responder};
  try {
    if (area == "healthz") {
      if (seg.size() != 1) return false;
      if (req.method != "GET") c.method_not_allowed("GET");
      else c.send(success(200));
      return true;
    }
    if (area == "data") {
      route_data(c);
      return true;
    }
    if (area == "pipelines") {
      route_pipelines(c);
      return true;
    }
    if (area == "clusters") {
      route_clusters(c);
      return true;
    }
    if (std::string why = bad_segment(seg, 1); !why.empty()) {
      c.send(e1(400, why));
      return true;
    }
    if (seg.size() > 2 && area != "jobs") return false;
    if (area == "binaries") route_binaries(c, false);
    else if (area == "jars") route_binaries(c, true);
    else if (area == "contexts") route_contexts(c);
    else return route_jobs(c);
  } catch (const Error& e) {
    c.send(from_error(e));
  } catch (const std::exception& e) {
    spdlog::error("http {} {}: {}", req.method, req.path, e.what());
    c.send(e2(500, "ERROR", job_error(e.what(), "sjs.InternalError")));
  }
  return true;
}

}  // namespace sjs

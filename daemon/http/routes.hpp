// The HTTP routes. Two families, both thin translations onto the service layer:
//  - spark-jobserver's REST API, wire-compatible (routes_sjs.cpp; contract:
//    ../shared/reference/spark-jobserver-api.md, documented in docs/http-api.md);
//  - sjs's own API, the client protocol over HTTP (routes_rpc.cpp):
//    POST /sjs/v1/<op> with the op's args as the JSON body, answered with the
//    same envelope as the Unix socket; the remote CLI (`sjs --url`) uses it.
#pragma once

#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/http_types.hpp"
#include "sjs/messages.hpp"

namespace sjs {

class Service;
class Metrics;
class Cors;

// What route_http needs besides the service (built by daemon.cpp's make_http_server).
struct HttpSite {
  std::shared_ptr<Metrics> metrics;  // GET /metrics (http/metrics.hpp); null = no such route
  std::shared_ptr<const Cors> cors;  // preflights (http/auth.hpp); null = CORS off
};

// sjs's own API ops and the permission each needs when auth is on
// ("" = any authenticated user). An op not listed needs "*".
struct RpcOp {
  const char* op;
  const char* permission;
  const char* summary;
};
const std::vector<RpcOp>& rpc_ops();

// Answers the request if it is one of sjs's own routes (/sjs/v1/...); false otherwise.
bool route_rpc(Service& service, const HttpRequest& request, const std::shared_ptr<HttpResponder>& responder);
// Answers the request if it is one of spark-jobserver's routes; false otherwise.
bool route_sjs(Service& service, const HttpRequest& request, const std::shared_ptr<HttpResponder>& responder);

// Every route: CORS preflights, /metrics and /openapi.json, then each family, else 404
// with spark-jobserver's error shape.
void route_http(Service& service, const HttpSite& site, const HttpRequest& request,
                const std::shared_ptr<HttpResponder>& responder);

// What a job's callbackUrl receives (spark-jobserver's shapes): {jobId, result} when the job
// finished, {jobId, status: "ERROR", result: {message, errorClass, stack}} otherwise.
nlohmann::json callback_body(const JobResult& ended);

// {"status":"ERROR","result":message} with `status`.
HttpResponse http_error(int status, const std::string& message);

}  // namespace sjs

// GET /openapi.json: an OpenAPI 3.0 document of every HTTP route, generated
// from the route table in openapi.cpp (spark-jobserver's routes, sjs's own
// /sjs/v1 API from the op table in routes_rpc.cpp, /healthz, /metrics and
// /openapi.json itself). A route added to the server belongs in that table.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "http/http_types.hpp"

namespace sjs {

// The document (built once).
const nlohmann::json& openapi_document();
// Answers GET /openapi.json.
void serve_openapi(const HttpRequest& request, HttpResponder& responder);

}  // namespace sjs

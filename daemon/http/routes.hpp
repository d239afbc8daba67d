// The HTTP routes. Two families, both thin translations onto the service layer:
//  - spark-jobserver's REST API, wire-compatible (routes_sjs.cpp; contract:
//    ../shared/reference/spark-jobserver-api.md, documented in docs/http-api.md);
//  - sjs's own API, the client protocol over HTTP (routes_rpc.cpp):
//    POST /sjs/v1/<op> with the op's args as the JSON body, answered with the
//    same envelope as the Unix socket; the remote CLI (`sjs --url`) uses it.
#pragma once

#include <memory>

#include "http/http_types.hpp"

namespace sjs {

class Service;

// Answers the request if it is one of sjs's own routes (/sjs/v1/...); false otherwise.
bool route_rpc(Service& service, const HttpRequest& request, const std::shared_ptr<HttpResponder>& responder);
// Answers the request if it is one of spark-jobserver's routes; false otherwise.
bool route_sjs(Service& service, const HttpRequest& request, const std::shared_ptr<HttpResponder>& responder);

// Every route: tries each family, else 404 with spark-jobserver's error shape.
void route_http(Service& service, const HttpRequest& request, const std::shared_ptr<HttpResponder>& responder);

// {"status":"ERROR","result":message} with `status`.
HttpResponse http_error(int status, const std::string& message);

}  // namespace sjs

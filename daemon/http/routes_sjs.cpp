// spark-jobserver's REST API (../shared/reference/spark-jobserver-api.md).
#include "http/routes.hpp"
#include "service.hpp"

namespace sjs {

bool route_sjs(Service&, const HttpRequest&, const std::shared_ptr<HttpResponder>&) { return false; }

}  // namespace sjs

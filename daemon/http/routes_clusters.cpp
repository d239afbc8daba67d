// Partition-server clusters over HTTP (docs/http-api.md, "Partition servers"): sjs's own routes, a
// translation onto the service's cluster table. Clients find servers with GET /clusters/<name>;
// partition servers outside a worker's process register with POST /clusters/<name>/register and
// their cluster's token (that route is not behind user auth: the token is the credential).
#include "http/routes.hpp"
#include "http/sjs_api.hpp"
#include "sjs/cluster_messages.hpp"
#include "sjs/util.hpp"

namespace sjs::jobserver {

namespace {

// POST /clusters/<name>/register {"partition", "host", "port"}, X-SJS-Cluster-Token.
void register_server(const Call& c, const std::string& name) {
  check_json_nesting(c.req.body, "a registration");
  json body = json::parse(c.req.body.empty() ? std::string("{}") : c.req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("partition") || !body["partition"].is_number_integer() ||
      !body.contains("port") || !body["port"].is_number_integer() || !body.contains("host") || !body["host"].is_string()) {
    return c.send(e1(400, "a registration is a JSON object {\"partition\": N, \"host\": \"H\", \"port\": P}"));
  }
  const std::string from = "HTTP client " + c.req.remote;
  ClusterInfo info;
  try {
    info = c.s.register_cluster_server(name, body["partition"].get<std::int64_t>(), body["host"].get<std::string>(),
                                       body["port"].get<std::int64_t>(), c.req.header("x-sjs-cluster-token"), from);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::in_use) throw;
    return c.send(e1(409, e.what()));  // stopping or ended: a conflict with its state, not a permission
  }
  c.send(json_response(200, json{{"cluster", info.name}, {"partition", body["partition"]}, {"state", info.state}}));
}

// DELETE /clusters/<name>[?sync=false][&timeout=S]: stops it; with sync (the default) answers the
// ended cluster, else 202 at once.
void stop_cluster(const Call& c, const std::string& name) {
  const std::optional<bool> sync = parse_bool(c.req.query_value("sync", "true"));
  if (!sync) return c.send(e1(400, "invalid value for sync (true or false)"));
  const std::optional<double> timeout = parse_seconds(c.req.query_value("timeout", "0"));
  if (!timeout) return c.send(e1(400, "invalid value for timeout (seconds)"));
  const Res res = c.res;
  if (!*sync) {
    c.s.stop_cluster(ClusterWaitArgs{name, 0}, Reply<ClusterWaitResult>{[](ClusterWaitResult) {}, [](const Error&) {}});
    return c.send(json_response(202, json(c.s.show_cluster(name))));
  }
  c.s.stop_cluster(ClusterWaitArgs{name, *timeout},
                   Reply<ClusterWaitResult>{[res](ClusterWaitResult r) {
                                              res->send(json_response(r.timed_out ? 202 : 200, json(r.cluster)));
                                            },
                                            [res](const Error& e) { res->send(from_error(e)); }});
}

}  // namespace

void route_clusters(const Call& c) {
  const auto& seg = c.req.segments;
  const std::string& method = c.req.method;
  if (seg.size() == 1) {
    if (method != "GET") return c.method_not_allowed("GET");
    if (c.permitted("jobs:read")) c.send(json_response(200, json(c.s.list_clusters().clusters)));
    return;
  }
  const std::string& name = seg[1];
  if (seg.size() == 2) {
    if (method == "GET") {
      if (c.permitted("jobs:read")) c.send(json_response(200, json(c.s.show_cluster(name))));
    } else if (method == "DELETE") {
      if (c.permitted("jobs:delete")) stop_cluster(c, name);
    } else {
      c.method_not_allowed("GET, DELETE");
    }
    return;
  }
  if (seg.size() == 3 && seg[2] == "result") {
    if (method != "GET") return c.method_not_allowed("GET");
    if (c.permitted("jobs:read")) c.send(json_response(200, json(c.s.cluster_results(name))));
    return;
  }
  if (seg.size() == 3 && seg[2] == "register") {
    if (method != "POST") return c.method_not_allowed("POST");
    return register_server(c, name);
  }
  c.send(e1(404, "not found: the cluster routes are GET /clusters, GET|DELETE /clusters/<name>, "
                 "GET /clusters/<name>/result and POST /clusters/<name>/register"));
}

}  // namespace sjs::jobserver

// cluster.* ops (partition servers); the CLI side is cli/commands/cluster.cpp.
#include "handlers/handlers.hpp"
#include "service.hpp"
#include "sjs/cluster_messages.hpp"

namespace sjs {
namespace {

void cluster_list(Service& s, const nlohmann::json&, const Responder& r) { r.done(s.list_clusters()); }

void cluster_show(Service& s, const nlohmann::json& args, const Responder& r) {
  r.done(s.show_cluster(parse_args<NameArgs>(args).name));
}

void cluster_wait(Service& s, const nlohmann::json& args, const Responder& r) {
  s.wait_cluster(parse_args<ClusterWaitArgs>(args), Reply<ClusterWaitResult>{answer<ClusterWaitResult>(r), r.fail});
}

void cluster_stop(Service& s, const nlohmann::json& args, const Responder& r) {
  s.stop_cluster(parse_args<ClusterWaitArgs>(args), Reply<ClusterWaitResult>{answer<ClusterWaitResult>(r), r.fail});
}

void cluster_result(Service& s, const nlohmann::json& args, const Responder& r) {
  r.done(s.cluster_results(parse_args<NameArgs>(args).name));
}

}  // namespace

Handler cluster_handler(const std::string& op) {
  if (op == op::k_cluster_list) return cluster_list;
  if (op == op::k_cluster_show) return cluster_show;
  if (op == op::k_cluster_wait) return cluster_wait;
  if (op == op::k_cluster_stop) return cluster_stop;
  if (op == op::k_cluster_result) return cluster_result;
  return nullptr;
}

}  // namespace sjs

// The client-protocol types of partition servers (docs/partition-servers.md): the cluster.* ops,
// a cluster's record and its servers. Kept apart from messages.hpp so that the rest of the
// protocol does not depend on them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sjs {

namespace op {
constexpr const char* k_cluster_list = "cluster.list";
constexpr const char* k_cluster_show = "cluster.show";
constexpr const char* k_cluster_wait = "cluster.wait";
constexpr const char* k_cluster_stop = "cluster.stop";
constexpr const char* k_cluster_result = "cluster.result";
}  // namespace op

// A cluster's states. STOPPED and FAILED are final.
namespace cluster_state {
constexpr const char* k_starting = "STARTING";  // fewer partitions registered than it has
constexpr const char* k_ready = "READY";        // every partition registered and answering
constexpr const char* k_degraded = "DEGRADED";  // a partition failed or stopped answering, not back yet
constexpr const char* k_stopping = "STOPPING";
constexpr const char* k_stopped = "STOPPED";
constexpr const char* k_failed = "FAILED";
}  // namespace cluster_state
bool is_final_cluster_state(const std::string& state);

// A partition server's states.
namespace server_state {
constexpr const char* k_waiting = "WAITING";  // never registered
constexpr const char* k_up = "UP";
constexpr const char* k_down = "DOWN";        // failed, or its health check failed
}  // namespace server_state

struct ClusterServer {
  int partition = 0;
  std::string host;
  int port = 0;
  std::string url;           // "http://host:port", "" until registered
  std::string state = server_state::k_waiting;
  std::int64_t since_ms = 0;
  std::string error;         // why it is DOWN
  int registrations = 0;     // how many times it registered (restarts show as > 1)
};

struct ClusterInfo {
  std::string name;
  std::string job;
  std::string context;
  std::string runtime;
  std::string state;
  int partitions = 0;
  int registered = 0;        // partitions that registered at least once
  std::int64_t created_ms = 0;
  std::int64_t since_ms = 0;  // in this state since
  std::int64_t ended_ms = 0;
  std::string error;         // FAILED: why; STOPPED: how (e.g. "the job was killed"), "" otherwise
  std::vector<ClusterServer> servers;  // one per partition, in order
  int result_count = 0;      // results collected at stop
  bool results_kept = false;  // small enough to keep with the record (cluster.result)
};

struct ClusterWaitArgs {
  std::string name;
  double timeout_s = 0;      // 0 = forever
};
struct ClusterListResult {
  std::vector<ClusterInfo> clusters;
};
// cluster.wait and cluster.stop
struct ClusterWaitResult {
  ClusterInfo cluster;
  bool timed_out = false;
};
struct ClusterResults {
  ClusterInfo cluster;
  nlohmann::json results;    // one per partition; null when not kept
};

#define SJS_DEFINE_JSON(T, ...) NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(T, __VA_ARGS__)
SJS_DEFINE_JSON(ClusterServer, partition, host, port, url, state, since_ms, error, registrations)
SJS_DEFINE_JSON(ClusterInfo, name, job, context, runtime, state, partitions, registered, created_ms, since_ms, ended_ms,
                error, servers, result_count, results_kept)
SJS_DEFINE_JSON(ClusterWaitArgs, name, timeout_s)
SJS_DEFINE_JSON(ClusterListResult, clusters)
SJS_DEFINE_JSON(ClusterWaitResult, cluster, timed_out)
SJS_DEFINE_JSON(ClusterResults, cluster, results)
#undef SJS_DEFINE_JSON

}  // namespace sjs

#include "sjs/messages.hpp"

#include "sjs/cluster_messages.hpp"

#include "sjs/errors.hpp"

namespace sjs {

bool is_final_job_state(const std::string& state) {
  return state == job_state::k_finished || state == job_state::k_error || state == job_state::k_killed;
}

bool is_job_state(const std::string& state) {
  return state == job_state::k_queued || state == job_state::k_running || is_final_job_state(state);
}

nlohmann::json job_error(const std::string& message, const std::string& error_class) {
  return {{"message", message}, {"errorClass", error_class}, {"stack", nlohmann::json::array()}};
}

template <typename T>
T parse_args(const nlohmann::json& args) {
  if (!args.is_null() && !args.is_object()) throw Error(ErrorCode::usage, "request args must be a JSON object");
  try {
    return args.is_null() ? T{} : args.get<T>();
  } catch (const nlohmann::json::exception& e) {
    // Name the offending field: parse each one alone (the others take their defaults).
    std::string field;
    for (auto it = args.begin(); it != args.end() && field.empty(); ++it) {
      nlohmann::json one = nlohmann::json::object();
      one[it.key()] = *it;
      try {
        (void)one.get<T>();
      } catch (const nlohmann::json::exception&) {
        field = it.key();
      }
    }
    throw Error(ErrorCode::usage, "malformed request args" + (field.empty() ? "" : " (field \"" + field + "\")") +
                                      ": " + e.what());
  }
}

template HelloArgs parse_args<HelloArgs>(const nlohmann::json&);
template HelloResult parse_args<HelloResult>(const nlohmann::json&);
template BinaryUploadArgs parse_args<BinaryUploadArgs>(const nlohmann::json&);
template NameArgs parse_args<NameArgs>(const nlohmann::json&);
template BinaryDeleteArgs parse_args<BinaryDeleteArgs>(const nlohmann::json&);
template BinaryStepsArgs parse_args<BinaryStepsArgs>(const nlohmann::json&);
template BinaryInfo parse_args<BinaryInfo>(const nlohmann::json&);
template BinaryListResult parse_args<BinaryListResult>(const nlohmann::json&);
template BinaryShowResult parse_args<BinaryShowResult>(const nlohmann::json&);
template ContextCreateArgs parse_args<ContextCreateArgs>(const nlohmann::json&);
template ContextDeleteArgs parse_args<ContextDeleteArgs>(const nlohmann::json&);
template ContextInfo parse_args<ContextInfo>(const nlohmann::json&);
template ContextListResult parse_args<ContextListResult>(const nlohmann::json&);
template JobSubmitArgs parse_args<JobSubmitArgs>(const nlohmann::json&);
template JobIdArgs parse_args<JobIdArgs>(const nlohmann::json&);
template JobWaitArgs parse_args<JobWaitArgs>(const nlohmann::json&);
template JobLogArgs parse_args<JobLogArgs>(const nlohmann::json&);
template JobListArgs parse_args<JobListArgs>(const nlohmann::json&);
template JobInfo parse_args<JobInfo>(const nlohmann::json&);
template JobResult parse_args<JobResult>(const nlohmann::json&);
template JobConfigResult parse_args<JobConfigResult>(const nlohmann::json&);
template JobLogChunk parse_args<JobLogChunk>(const nlohmann::json&);
template JobListResult parse_args<JobListResult>(const nlohmann::json&);
template DaemonStatusResult parse_args<DaemonStatusResult>(const nlohmann::json&);
template ClusterWaitArgs parse_args<ClusterWaitArgs>(const nlohmann::json&);
template ClusterInfo parse_args<ClusterInfo>(const nlohmann::json&);
template ClusterListResult parse_args<ClusterListResult>(const nlohmann::json&);
template ClusterWaitResult parse_args<ClusterWaitResult>(const nlohmann::json&);
template ClusterResults parse_args<ClusterResults>(const nlohmann::json&);

bool is_final_cluster_state(const std::string& state) {
  return state == cluster_state::k_stopped || state == cluster_state::k_failed;
}

}  // namespace sjs

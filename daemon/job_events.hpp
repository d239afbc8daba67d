// Job events, published once the state they describe is committed: an observer
// (callbacks, metrics, and later pipelines and progress streams) never sees a
// state that a crash could take back.
//
// Threads: the core thread publishes and observers run on it, in the order
// they subscribed. An observer must not throw; it may not unsubscribe.
#pragma once

#include <functional>
#include <vector>

#include <nlohmann/json.hpp>

#include "sjs/messages.hpp"

namespace sjs {

class JobEvents {
 public:
  // RUNNING is committed (started_ms, pid set).
  using Started = std::function<void(const JobInfo& job)>;
  // The final state is committed; `result` is the job's result (null if it has none).
  using Ended = std::function<void(const JobInfo& job, const nlohmann::json& result)>;

  void on_started(Started observer) { m_started.push_back(std::move(observer)); }
  void on_ended(Ended observer) { m_ended.push_back(std::move(observer)); }

  void publish_started(const JobInfo& job) const {
    for (const auto& o : m_started) o(job);
  }
  void publish_ended(const JobInfo& job, const nlohmann::json& result) const {
    for (const auto& o : m_ended) o(job, result);
  }

 private:
  std::vector<Started> m_started;
  std::vector<Ended> m_ended;
};

}  // namespace sjs

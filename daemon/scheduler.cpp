#include "scheduler.hpp"

namespace sjs {

void Scheduler::push(const std::string& job_id, int priority, std::uint64_t seq) {
  if (m_index.count(job_id)) return;
  auto it = m_order.insert(Entry{priority, seq, job_id}).first;
  m_index.emplace(job_id, it);
}

bool Scheduler::remove(const std::string& job_id) {
  auto found = m_index.find(job_id);
  if (found == m_index.end()) return false;
  m_order.erase(found->second);
  m_index.erase(found);
  return true;
}

std::optional<std::string> Scheduler::take() {
  if (m_order.empty() || m_running >= m_slots) return std::nullopt;
  auto it = m_order.begin();
  std::string id = it->id;
  m_index.erase(id);
  m_order.erase(it);
  ++m_running;
  return id;
}

void Scheduler::release() {
  if (m_running > 0) --m_running;
}

}  // namespace sjs

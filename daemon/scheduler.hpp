// A context's queue and slots: which queued job runs next, and whether a slot
// is free for it. Pure bookkeeping (no I/O), owned by the core thread.
// Order: higher priority first; within a priority, first submitted first (seq).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

namespace sjs {

class Scheduler {
 public:
  explicit Scheduler(int slots) : m_slots(slots < 1 ? 1 : slots) {}

  void push(const std::string& job_id, int priority, std::uint64_t seq);
  // Drops a queued job (killed while queued); false if it was not queued.
  bool remove(const std::string& job_id);
  // The next job to run, if one is queued and a slot is free; takes the slot.
  std::optional<std::string> take();
  // A running job ended: its slot is free again.
  void release();
  void set_slots(int slots) { m_slots = slots < 1 ? 1 : slots; }

  int slots() const { return m_slots; }
  int running() const { return m_running; }
  std::size_t queued() const { return m_order.size(); }
  bool contains(const std::string& job_id) const { return m_index.count(job_id) > 0; }

 private:
  struct Entry {
    int priority;
    std::uint64_t seq;
    std::string id;
    bool operator<(const Entry& o) const {
      if (priority != o.priority) return priority > o.priority;
      return seq < o.seq;
    }
  };
  int m_slots;
  int m_running = 0;
  std::set<Entry> m_order;
  std::unordered_map<std::string, std::set<Entry>::iterator> m_index;
};

}  // namespace sjs

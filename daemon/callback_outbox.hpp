// The callback outbox owns job callbacks (a job submitted with a callback_url):
// the store owes a job's callback from its submission until it is delivered or
// given up on, so one that a daemon restart interrupted is sent again by the
// next daemon (at least once). It sends a callback when the job's end is
// committed (a JobEvents observer), and at start-up those still owed.
//
// Threads: the core thread; the sender may do its I/O elsewhere and calls
// `finished` back on the core thread.
#pragma once

#include <functional>
#include <string>

#include "job_events.hpp"
#include "sjs/messages.hpp"
#include "store/store.hpp"

namespace sjs {

class CallbackOutbox {
 public:
  // `check` refuses a URL that cannot be used (throws Error); `send` delivers an ended job's callback
  // and calls `finished` once it was delivered or given up on.
  struct Sender {
    std::function<void(const std::string& url)> check;
    std::function<void(const JobResult& ended, std::function<void()> finished)> send;
  };

  CallbackOutbox(store::Store& store, JobEvents& events);
  // Sets the sender, and sends the callbacks still owed for jobs that ended before a restart
  // (`is_live(id)`: the job is still queued or running, so its callback goes out when it ends).
  void set_sender(Sender sender, const std::function<bool(const std::string& id)>& is_live);
  // Throws bad_request when callbacks cannot be sent or the URL is unusable.
  void check(const std::string& url) const;

 private:
  void send(const JobInfo& job, const nlohmann::json& result);

  store::Store& m_store;
  Sender m_sender;
};

}  // namespace sjs

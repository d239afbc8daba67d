#include "callback_outbox.hpp"

#include <spdlog/spdlog.h>

#include "sjs/errors.hpp"

namespace sjs {

CallbackOutbox::CallbackOutbox(store::Store& store, JobEvents& events) : m_store(store) {
  events.on_ended([this](const JobInfo& job, const nlohmann::json& result) {
    if (!job.callback_url.empty()) send(job, result);
  });
}

void CallbackOutbox::check(const std::string& url) const {
  if (!m_sender.check) throw Error(ErrorCode::bad_request, "callbacks are not available in this sjsd");
  m_sender.check(url);
}

void CallbackOutbox::set_sender(Sender sender, const std::function<bool(const std::string& id)>& is_live) {
  m_sender = std::move(sender);
  for (const auto& id : m_store.pending_callbacks()) {
    auto job = m_store.get_job(id);
    if (!job || job->callback_url.empty()) {
      m_store.callback_done(id);
    } else if (is_final_job_state(job->state) && !is_live(id)) {
      spdlog::info("job {}: sending its callback, owed from before the restart", id);
      send(*job, job->has_result ? m_store.get_job_result(id).value_or(nullptr) : nlohmann::json());
    }  // queued: sent when it ends
  }
}

void CallbackOutbox::send(const JobInfo& job, const nlohmann::json& result) {
  if (!m_sender.send) {
    spdlog::warn("job {}: no callback sender: callback to {} not sent", job.id, job.callback_url);
    return;
  }
  JobResult ended;
  ended.job = job;
  if (job.has_result) ended.result = result;
  m_sender.send(ended, [this, id = job.id] { m_store.callback_done(id); });
}

}  // namespace sjs

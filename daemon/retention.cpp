#include "retention.hpp"

#include <spdlog/spdlog.h>

namespace sjs {

Retention::Retention(boost::asio::io_context& io, store::Store& store, const DaemonConfig& config, Removed removed)
    : m_store(store), m_config(config), m_removed(std::move(removed)), m_timer(io) {}

void Retention::start() { run(); }

void Retention::stop() {
  m_stopped = true;
  m_timer.cancel();
}

void Retention::run() {
  store::RetentionPolicy policy;
  policy.max_jobs = m_config.retention_max_jobs;
  policy.max_age_ms = static_cast<std::int64_t>(m_config.retention_max_age_days * 86400.0 * 1000.0);
  m_store.apply_retention(policy, [this](std::vector<std::string> removed) {
    m_removed(removed);
    if (!removed.empty()) spdlog::info("retention removed {} finished job(s)", removed.size());
  });
  if (m_stopped) return;
  m_timer.expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(m_config.retention_interval_s * 1000)));
  m_timer.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !m_stopped) run();
  });
}

}  // namespace sjs

// Retention owns the pruning of finished jobs: at start and every
// retention.interval-seconds, finished jobs past retention.max-jobs or older
// than retention.max-age-days are deleted (the store does it in one write);
// `removed` is told which, to drop their logs and cached state.
//
// Threads: the core thread (the store's writer does the deleting).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config.hpp"
#include "store/store.hpp"

namespace sjs {

class Retention {
 public:
  using Removed = std::function<void(const std::vector<std::string>& job_ids)>;
  Retention(boost::asio::io_context& io, store::Store& store, const DaemonConfig& config, Removed removed);
  // Runs once now, then every interval until stop().
  void start();
  void stop();

 private:
  void run();

  store::Store& m_store;
  const DaemonConfig& m_config;
  Removed m_removed;
  boost::asio::steady_timer m_timer;
  bool m_stopped = false;
};

}  // namespace sjs

#include "cluster_table.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "sjs/crypto.hpp"
#include "sjs/errors.hpp"
#include "sjs/messages.hpp"
#include "sjs/util.hpp"

namespace sjs {

namespace asio = boost::asio;

namespace {

constexpr std::int64_t k_max_partitions = 100000;

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::chrono::milliseconds ms(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

nlohmann::json record_of(const ClusterInfo& info, const nlohmann::json& results) {
  nlohmann::json r = info;
  r["results"] = results;
  return r;
}

}  // namespace

ClusterTable::ClusterTable(asio::io_context& io, store::Store& store, ControlCall call, ClusterOptions options)
    : m_io(io), m_store(store), m_call(std::move(call)), m_options(options), m_health_timer(io) {}

ClusterTable::~ClusterTable() {
  m_health_timer.cancel();
}

void ClusterTable::load() {
  const std::int64_t now = now_ms();
  for (const auto& record : m_store.list_clusters()) {
    auto c = std::make_unique<Cluster>();
    try {
      c->info = record.get<ClusterInfo>();
    } catch (const std::exception& e) {
      spdlog::warn("clusters: skipping an unreadable record: {}", e.what());
      continue;
    }
    if (record.contains("results")) c->results = record["results"];
    c->checking.assign(c->info.servers.size(), false);
    if (!is_final_cluster_state(c->info.state)) {
      spdlog::info("cluster {}: was {} when the daemon stopped: FAILED", c->info.name, c->info.state);
      c->info.state = cluster_state::k_failed;
      c->info.error = "the daemon restarted while it served (its job ended with it)";
      c->info.since_ms = c->info.ended_ms = now;
      for (auto& s : c->info.servers) {
        if (s.state != server_state::k_waiting) s.state = server_state::k_down;
      }
      persist(*c);
    }
    const std::string name = c->info.name;
    m_clusters[name] = std::move(c);
  }
  schedule_health();
}

void ClusterTable::stop_all() {
  std::vector<std::string> live;
  for (const auto& [name, c] : m_clusters) {
    if (!is_final_cluster_state(c->info.state)) live.push_back(name);
  }
  for (const auto& name : live) {
    stop(ClusterWaitArgs{name, 0}, Reply<ClusterWaitResult>{[](ClusterWaitResult) {}, [](const Error&) {}});
  }
}

void ClusterTable::shutdown() {
  m_shutting_down = true;
  m_health_timer.cancel();
  for (auto& [name, list] : m_unopened) {
    for (auto& w : list) {
      if (w.timer) w.timer->cancel();
      w.reply.fail(Error(ErrorCode::unavailable, "sjsd is shutting down; no cluster " + name + " was opened"));
    }
  }
  m_unopened.clear();
  for (auto& [name, c] : m_clusters) {
    auto waiters = std::move(c->waiters);
    c->waiters.clear();
    if (c->stop_timer) c->stop_timer->cancel();
    for (auto& w : waiters) {
      if (w.timer) w.timer->cancel();
      w.reply.fail(Error(ErrorCode::unavailable, "sjsd is shutting down; cluster " + name + " was " + c->info.state));
    }
  }
}

std::string ClusterTable::token_for(const std::string& job_id) {
  auto it = m_tokens.find(job_id);
  if (it != m_tokens.end()) return it->second;
  std::string token = hex(crypto::random_bytes(16));
  m_tokens.emplace(job_id, token);
  return token;
}

ClusterTable::Cluster* ClusterTable::find(const std::string& name) {
  auto it = m_clusters.find(name);
  return it == m_clusters.end() ? nullptr : it->second.get();
}

const ClusterTable::Cluster& ClusterTable::get(const std::string& name) const {
  auto it = m_clusters.find(name);
  if (it == m_clusters.end()) {
    throw Error(ErrorCode::not_found, "no cluster named \"" + name + "\" (sjs cluster list shows them)");
  }
  return *it->second;
}

void ClusterTable::log(const Cluster& c, const std::string& line) {
  if (m_hooks.log) m_hooks.log(c.info.job, "[sjs] cluster " + c.info.name + ": " + line);
}

void ClusterTable::persist(const Cluster& c) {
  m_store.put_cluster(c.info.name, record_of(c.info, c.results), [name = c.info.name](const std::string& error) {
    if (!error.empty()) spdlog::error("cluster {}: cannot store its record: {}", name, error);
  });
}

// ---- from workers -----------------------------------------------------------------

void ClusterTable::open(const worker::ClusterOpen& msg, const std::string& context, const std::string& runtime) {
  auto answer = [&](const std::string& error) {
    if (!error.empty()) spdlog::info("job {}: cluster {} refused: {}", msg.job, msg.cluster, error);
    if (m_hooks.send) m_hooks.send(msg.job, worker::ClusterOpened{msg.id, error});
  };
  try {
    check_name("cluster", msg.cluster);
  } catch (const Error& e) {
    return answer(e.what());
  }
  if (msg.partitions < 1) return answer("a cluster needs at least one partition, not " + std::to_string(msg.partitions));
  if (msg.partitions > k_max_partitions) {
    return answer("a cluster has at most " + std::to_string(k_max_partitions) + " partitions, not " +
                  std::to_string(msg.partitions));
  }
  if (!m_tokens.count(msg.job)) return answer("job " + msg.job + " is not running here");
  if (Cluster* old = find(msg.cluster); old && !is_final_cluster_state(old->info.state)) {
    if (old->info.job == msg.job) return answer("this job already serves cluster \"" + msg.cluster + "\"");
    return answer("cluster \"" + msg.cluster + "\" is already serving (job " + old->info.job +
                  "): stop it (sjs cluster stop " + msg.cluster + ") or choose another name");
  }
  auto c = std::make_unique<Cluster>();
  const std::int64_t now = now_ms();
  c->info.name = msg.cluster;
  c->info.job = msg.job;
  c->info.context = context;
  c->info.runtime = runtime;
  c->info.state = cluster_state::k_starting;
  c->info.partitions = static_cast<int>(msg.partitions);
  c->info.created_ms = c->info.since_ms = now;
  c->info.servers.resize(static_cast<std::size_t>(msg.partitions));
  for (int i = 0; i < c->info.partitions; ++i) {
    c->info.servers[static_cast<std::size_t>(i)].partition = i;
    c->info.servers[static_cast<std::size_t>(i)].since_ms = now;
  }
  c->checking.assign(c->info.servers.size(), false);
  Cluster& ref = *c;
  m_clusters[msg.cluster] = std::move(c);
  persist(ref);
  spdlog::info("job {}: cluster {} opened with {} partitions", msg.job, msg.cluster, msg.partitions);
  log(ref, "opened with " + std::to_string(msg.partitions) + " partitions");
  answer("");
  if (auto it = m_unopened.find(msg.cluster); it != m_unopened.end()) {
    for (auto& w : it->second) {
      if (w.timer) w.timer->cancel();
      add_waiter(ref, ClusterWaitArgs{msg.cluster, w.timeout_s}, true, std::move(w.reply));
    }
    m_unopened.erase(it);
  }
  drop_old_records();
}

void ClusterTable::registered(const worker::ClusterRegister& msg) {
  try {
    register_server(msg.cluster, msg.partition, msg.host, msg.port, msg.token, "job " + msg.job + "'s worker");
  } catch (const Error& e) {
    spdlog::warn("job {}: a registration for cluster {} was refused: {}", msg.job, msg.cluster, e.what());
  }
}

ClusterInfo ClusterTable::register_server(const std::string& name, std::int64_t partition, const std::string& host,
                                          std::int64_t port, const std::string& token, const std::string& from) {
  Cluster* c = find(name);
  if (!c) throw Error(ErrorCode::not_found, "no cluster named \"" + name + "\"");
  auto tok = m_tokens.find(c->info.job);
  if (tok == m_tokens.end() || !crypto::equal_constant_time(tok->second, token)) {
    spdlog::warn("cluster {}: refused a registration of partition {} from {}: wrong token", name, partition, from);
    log(*c, "refused a registration of partition " + std::to_string(partition) + " from " + from + ": wrong token");
    throw Error(ErrorCode::forbidden, "wrong cluster token for cluster \"" + name +
                                          "\": a partition server registers with the token sjsd gave its job");
  }
  if (is_final_cluster_state(c->info.state) || c->info.state == cluster_state::k_stopping) {
    throw Error(ErrorCode::in_use, "cluster \"" + name + "\" is " + c->info.state + ": it takes no registrations");
  }
  if (partition < 0 || partition >= c->info.partitions) {
    throw Error(ErrorCode::bad_request, "partition " + std::to_string(partition) + " is out of range: cluster \"" +
                                            name + "\" has partitions 0 to " + std::to_string(c->info.partitions - 1));
  }
  if (port < 1 || port > 65535) throw Error(ErrorCode::bad_request, "port " + std::to_string(port) + " is out of range 1-65535");
  if (host.empty() || host.size() > 255 || host.find_first_of(" /\t\r\n") != std::string::npos) {
    throw Error(ErrorCode::bad_request, "host \"" + host.substr(0, 100) + "\" is not a host name or address");
  }
  auto& s = c->info.servers[static_cast<std::size_t>(partition)];
  const bool again = s.registrations > 0;
  if (!again) ++c->info.registered;
  s.host = host;
  s.port = static_cast<int>(port);
  const bool v6 = host.find(':') != std::string::npos;
  s.url = "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  s.state = server_state::k_up;
  s.since_ms = now_ms();
  s.error.clear();
  ++s.registrations;
  ++c->generation;
  spdlog::info("cluster {}: partition {} {}registered at {}", name, partition, again ? "re-" : "", s.url);
  log(*c, "partition " + std::to_string(partition) + (again ? " registered again at " : " registered at ") + s.url);
  persist(*c);
  refresh(*c);
  return c->info;
}

void ClusterTable::partition_failed(const worker::ClusterPartition& msg) {
  Cluster* c = find(msg.cluster);
  if (!c || c->info.job != msg.job || is_final_cluster_state(c->info.state)) return;
  if (msg.partition < 0 || msg.partition >= c->info.partitions) return;
  auto& s = c->info.servers[static_cast<std::size_t>(msg.partition)];
  s.state = server_state::k_down;
  s.since_ms = now_ms();
  s.error = msg.error.empty() ? "it failed" : msg.error;
  ++c->generation;
  spdlog::warn("cluster {}: partition {} failed: {}", msg.cluster, msg.partition, s.error);
  persist(*c);
  refresh(*c);
}

void ClusterTable::ended(const worker::ClusterEnded& msg) {
  Cluster* c = find(msg.cluster);
  if (!c || c->info.job != msg.job || is_final_cluster_state(c->info.state)) return;
  if (msg.error.empty()) finish(*c, cluster_state::k_stopped, "", msg.results);
  else if (msg.killed) finish(*c, cluster_state::k_stopped, msg.error, msg.results);
  else finish(*c, cluster_state::k_failed, msg.error, msg.results);
}

void ClusterTable::job_ended(const std::string& job_id, const std::string& state, const std::string& error) {
  m_tokens.erase(job_id);
  for (auto& [name, c] : m_clusters) {
    if (c->info.job != job_id || is_final_cluster_state(c->info.state)) continue;
    if (state == job_state::k_finished) {
      finish(*c, cluster_state::k_stopped, c->info.state == cluster_state::k_stopping ? "" : "its job ended", nullptr);
    } else if (state == job_state::k_killed) {
      finish(*c, cluster_state::k_stopped, "the job was killed", nullptr);
    } else {
      finish(*c, cluster_state::k_failed, "the job failed" + (error.empty() ? "" : ": " + error), nullptr);
    }
  }
}

// ---- state --------------------------------------------------------------------------

void ClusterTable::refresh(Cluster& c) {
  if (is_final_cluster_state(c.info.state) || c.info.state == cluster_state::k_stopping) return;
  int up = 0;
  bool down = false;
  for (const auto& s : c.info.servers) {
    if (s.state == server_state::k_up) ++up;
    if (s.state == server_state::k_down) down = true;
  }
  const char* state = down ? cluster_state::k_degraded
                           : (up == c.info.partitions ? cluster_state::k_ready : cluster_state::k_starting);
  if (c.info.state != state) set_state(c, state);
}

void ClusterTable::set_state(Cluster& c, const std::string& state, const std::string& error) {
  spdlog::info("cluster {}: {} -> {}{}", c.info.name, c.info.state, state, error.empty() ? "" : " (" + error + ")");
  c.info.state = state;
  c.info.since_ms = now_ms();
  c.info.error = error;
  log(c, "is " + state + (error.empty() ? "" : ": " + error));
  persist(c);
  answer_waiters(c);
}

void ClusterTable::finish(Cluster& c, const std::string& state, const std::string& error, nlohmann::json results) {
  c.info.ended_ms = now_ms();
  if (c.stop_timer) c.stop_timer->cancel();
  for (auto& s : c.info.servers) {
    if (s.state == server_state::k_up) {
      s.state = server_state::k_down;
      s.since_ms = c.info.ended_ms;
    }
  }
  if (results.is_array()) {
    c.info.result_count = static_cast<int>(results.size());
    const std::string text = results.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    c.info.results_kept = text.size() <= m_options.max_kept_result_bytes;
    c.results = c.info.results_kept ? std::move(results) : nlohmann::json();
  }
  set_state(c, state, error);
}

void ClusterTable::answer_waiters(Cluster& c) {
  const bool ended = is_final_cluster_state(c.info.state);
  const bool ready = c.info.state == cluster_state::k_ready;
  std::vector<Waiter> keep, go;
  for (auto& w : c.waiters) (ended || (ready && w.until_ready) ? go : keep).push_back(std::move(w));
  c.waiters = std::move(keep);
  for (auto& w : go) {
    if (w.timer) w.timer->cancel();
    w.reply.ok(ClusterWaitResult{c.info, false});
  }
}

void ClusterTable::add_waiter(Cluster& c, const ClusterWaitArgs& args, bool until_ready,
                              Reply<ClusterWaitResult> reply) {
  Waiter w;
  w.id = ++m_next_waiter;
  w.until_ready = until_ready;
  w.reply = std::move(reply);
  if (args.timeout_s > 0) {
    w.timer = std::make_unique<asio::steady_timer>(m_io);
    w.timer->expires_after(ms(args.timeout_s));
    w.timer->async_wait([this, name = c.info.name, id = w.id](const boost::system::error_code& ec) {
      if (ec) return;
      Cluster* cl = find(name);
      if (!cl) return;
      auto it = std::find_if(cl->waiters.begin(), cl->waiters.end(), [&](const Waiter& x) { return x.id == id; });
      if (it == cl->waiters.end()) return;
      auto answer = std::move(it->reply);
      cl->waiters.erase(it);
      answer.ok(ClusterWaitResult{cl->info, true});
    });
  }
  c.waiters.push_back(std::move(w));
}

// ---- client ops -----------------------------------------------------------------------

ClusterListResult ClusterTable::list() const {
  ClusterListResult r;
  for (const auto& [name, c] : m_clusters) r.clusters.push_back(c->info);
  std::sort(r.clusters.begin(), r.clusters.end(),
            [](const ClusterInfo& a, const ClusterInfo& b) { return a.created_ms > b.created_ms; });
  return r;
}

ClusterInfo ClusterTable::show(const std::string& name) const {
  return get(name).info;
}

void ClusterTable::wait(const ClusterWaitArgs& args, Reply<ClusterWaitResult> reply) {
  check_name("cluster", args.name);
  if (!find(args.name)) return wait_unopened(args, std::move(reply));
  Cluster& c = *find(args.name);
  if (c.info.state == cluster_state::k_ready || is_final_cluster_state(c.info.state)) {
    return reply.ok(ClusterWaitResult{c.info, false});
  }
  add_waiter(c, args, true, std::move(reply));
}

void ClusterTable::stop(const ClusterWaitArgs& args, Reply<ClusterWaitResult> reply) {
  (void)get(args.name);
  Cluster& c = *find(args.name);
  if (is_final_cluster_state(c.info.state)) return reply.ok(ClusterWaitResult{c.info, false});
  add_waiter(c, args, false, std::move(reply));
  if (c.info.state == cluster_state::k_stopping) return;
  set_state(c, cluster_state::k_stopping);
  for (const auto& s : c.info.servers) {
    if (s.registrations == 0) continue;
    ControlRequest req{s.host, s.port, "POST", "/control/shutdown", 5};
    m_call(req, [name = c.info.name, partition = s.partition](const ControlAnswer& a) {
      if (!a.error.empty() || a.status != 200) {
        spdlog::info("cluster {}: partition {}'s shutdown route: {}", name, partition,
                     a.error.empty() ? "HTTP " + std::to_string(a.status) : a.error);
      }
    });
  }
  if (m_hooks.send) m_hooks.send(c.info.job, worker::ClusterStop{c.info.job, c.info.name});
  c.stop_timer = std::make_unique<asio::steady_timer>(m_io);
  c.stop_timer->expires_after(ms(m_options.stop_grace_s));
  c.stop_timer->async_wait([this, name = c.info.name](const boost::system::error_code& ec) {
    Cluster* cl = find(name);
    if (ec || !cl || is_final_cluster_state(cl->info.state)) return;
    log(*cl, "did not stop within " + nlohmann::json(m_options.stop_grace_s).dump() + " s: killing its job");
    if (m_hooks.kill) m_hooks.kill(cl->info.job, "cluster " + name + " ignored its shutdown");
  });
}

void ClusterTable::wait_unopened(const ClusterWaitArgs& args, Reply<ClusterWaitResult> reply) {
  Waiter w;
  w.id = ++m_next_waiter;
  w.until_ready = true;
  w.timeout_s = args.timeout_s;
  w.reply = std::move(reply);
  // The time left goes on with the waiter once the cluster opens (add_waiter's timer starts anew:
  // at worst the wait is twice as long as asked).
  const double limit = args.timeout_s > 0 ? args.timeout_s : k_appear_s;
  w.timer = std::make_unique<asio::steady_timer>(m_io);
  w.timer->expires_after(ms(limit));
  w.timer->async_wait([this, name = args.name, id = w.id, limit](const boost::system::error_code& ec) {
    if (ec) return;
    auto it = m_unopened.find(name);
    if (it == m_unopened.end()) return;
    auto& list = it->second;
    auto wi = std::find_if(list.begin(), list.end(), [&](const Waiter& x) { return x.id == id; });
    if (wi == list.end()) return;
    auto answer = std::move(wi->reply);
    list.erase(wi);
    if (list.empty()) m_unopened.erase(it);
    answer.fail(Error(ErrorCode::not_found, "no cluster named \"" + name + "\" (none opened within " +
                                                nlohmann::json(limit).dump() + " s; sjs cluster list shows them)"));
  });
  m_unopened[args.name].push_back(std::move(w));
}

ClusterResults ClusterTable::results(const std::string& name) const {
  const Cluster& c = get(name);
  if (!is_final_cluster_state(c.info.state)) {
    throw Error(ErrorCode::in_use, "cluster \"" + name + "\" is " + c.info.state +
                                       ": its results are collected when it stops (sjs cluster stop " + name + ")");
  }
  return ClusterResults{c.info, c.results};
}

// ---- health -------------------------------------------------------------------------

void ClusterTable::schedule_health() {
  if (m_shutting_down || m_options.health_interval_s <= 0) return;
  m_health_timer.expires_after(ms(m_options.health_interval_s));
  m_health_timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec || m_shutting_down) return;
    check_health();
    schedule_health();
  });
}

void ClusterTable::check_health() {
  for (auto& [name, c] : m_clusters) {
    const auto& state = c->info.state;
    if (is_final_cluster_state(state) || state == cluster_state::k_stopping) continue;
    for (auto& s : c->info.servers) {
      const auto i = static_cast<std::size_t>(s.partition);
      if (s.registrations == 0 || c->checking[i]) continue;
      c->checking[i] = true;
      ControlRequest req{s.host, s.port, "GET", "/control/health", m_options.health_interval_s};
      m_call(req, [this, name = name, gen = c->generation, p = s.partition](const ControlAnswer& a) {
        health_answer(name, gen, p, a);
      });
    }
  }
}

void ClusterTable::health_answer(const std::string& name, std::uint64_t generation, int partition,
                                 const ControlAnswer& a) {
  Cluster* c = find(name);
  if (!c) return;
  c->checking[static_cast<std::size_t>(partition)] = false;
  // A registration or failure since the check began says more than this answer.
  if (c->generation != generation || is_final_cluster_state(c->info.state) ||
      c->info.state == cluster_state::k_stopping) {
    return;
  }
  auto& s = c->info.servers[static_cast<std::size_t>(partition)];
  const bool ok = a.error.empty() && a.status == 200;
  if (ok && s.state == server_state::k_down) {
    s.state = server_state::k_up;
    s.since_ms = now_ms();
    s.error.clear();
    log(*c, "partition " + std::to_string(partition) + " answers its health check again");
    persist(*c);
    refresh(*c);
  } else if (!ok && s.state == server_state::k_up) {
    s.state = server_state::k_down;
    s.since_ms = now_ms();
    s.error = "health check failed: " + (a.error.empty() ? "HTTP " + std::to_string(a.status) : a.error);
    spdlog::warn("cluster {}: partition {} at {}: {}", name, partition, s.url, s.error);
    log(*c, "partition " + std::to_string(partition) + " at " + s.url + ": " + s.error);
    persist(*c);
    refresh(*c);
  }
}

void ClusterTable::drop_old_records() {
  std::size_t ended = 0;
  for (const auto& [name, c] : m_clusters) ended += is_final_cluster_state(c->info.state) ? 1 : 0;
  while (ended > m_options.max_records) {
    auto oldest = m_clusters.end();
    for (auto it = m_clusters.begin(); it != m_clusters.end(); ++it) {
      if (!is_final_cluster_state(it->second->info.state) || !it->second->waiters.empty()) continue;
      if (oldest == m_clusters.end() || it->second->info.ended_ms < oldest->second->info.ended_ms) oldest = it;
    }
    if (oldest == m_clusters.end()) return;
    m_store.delete_cluster(oldest->first);
    m_clusters.erase(oldest);
    --ended;
  }
}

}  // namespace sjs

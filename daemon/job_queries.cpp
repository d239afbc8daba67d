// The job table's queries and requests on existing jobs: find, status, config,
// list, kill, wait, log. The life cycle of a job is in job_table.cpp.
#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>

#include "job_table.hpp"
#include "sjs/config.hpp"
#include "sjs/errors.hpp"

namespace sjs {

namespace asio = boost::asio;

JobInfo JobTable::find(const std::string& id) const {
  auto it = m_live.find(id);
  if (it != m_live.end()) return it->second->info;
  // A final job never changes again (until retention removes it): clients that
  // poll one are answered from memory, not from an LMDB read and a JSON parse.
  if (auto c = m_final_jobs.find(id); c != m_final_jobs.end()) return c->second;
  if (auto j = m_store.get_job(id)) {
    if (is_final_job_state(j->state)) remember_final(*j);
    return *j;
  }
  throw Error(ErrorCode::not_found, "no such job ID " + id + " (see: sjs job list)", {{"job", id}});
}

void JobTable::remember_final(const JobInfo& job) const {
  if (m_final_jobs.size() >= k_final_cache_size) m_final_jobs.clear();  // crude bound; refills from hot reads
  m_final_jobs[job.id] = job;
}

void JobTable::forget(const std::vector<std::string>& ids) {
  for (const auto& id : ids) {
    ::unlink(log_path(id).c_str());
    m_final_jobs.erase(id);
  }
}

JobResult JobTable::result_for(const JobInfo& job, bool with_result) const {
  JobResult r;
  r.job = job;
  if (with_result && job.has_result) {
    auto it = m_live.find(job.id);
    if (it != m_live.end()) {
      r.result = it->second->result;
    } else if (auto res = m_store.get_job_result(job.id)) {
      r.result = *res;
    }
  }
  return r;
}

JobResult JobTable::status(const std::string& id, bool with_result) const { return result_for(find(id), with_result); }

JobConfigResult JobTable::config(const std::string& id) const {
  auto it = m_live.find(id);
  if (it != m_live.end()) return JobConfigResult{redact_secrets(it->second->config)};
  if (auto c = m_store.get_job_config(id)) return JobConfigResult{redact_secrets(*c)};
  find(id);  // throws not_found
  return JobConfigResult{nlohmann::json::object()};
}

JobListResult JobTable::list(const JobListArgs& args) const {
  if (args.limit < 0 || args.limit > 100000) throw Error(ErrorCode::bad_request, "--limit must be between 1 and 100000");
  std::vector<std::string> states = args.states;
  if (!args.state.empty()) states.push_back(args.state);
  for (const auto& state : states) {
    if (!is_job_state(state)) {
      throw Error(ErrorCode::bad_request, "unknown job state \"" + state +
                                              "\": use QUEUED, RUNNING, FINISHED, ERROR or KILLED");
    }
  }
  std::sort(states.begin(), states.end());
  states.erase(std::unique(states.begin(), states.end()), states.end());
  JobListResult r;
  if (states.size() <= 1) {
    JobListArgs one = args;
    one.state = states.empty() ? "" : states.front();
    r.jobs = m_store.list_jobs(one);
  } else {
    // One page of each state's index, merged newest first.
    for (const auto& state : states) {
      JobListArgs one = args;
      one.state = state;
      auto page = m_store.list_jobs(one);
      r.jobs.insert(r.jobs.end(), std::make_move_iterator(page.begin()), std::make_move_iterator(page.end()));
    }
    std::sort(r.jobs.begin(), r.jobs.end(), [](const JobInfo& a, const JobInfo& b) { return a.seq > b.seq; });
    if (r.jobs.size() > static_cast<std::size_t>(args.limit)) r.jobs.resize(static_cast<std::size_t>(args.limit));
  }
  // Live jobs may be ahead of what is committed: show their current state, and leave out one that has
  // moved on to a state not asked for.
  std::vector<JobInfo> out;
  out.reserve(r.jobs.size());
  for (auto& j : r.jobs) {
    auto it = m_live.find(j.id);
    if (it != m_live.end()) j = it->second->info;
    if (!states.empty() && std::find(states.begin(), states.end(), j.state) == states.end()) continue;
    out.push_back(std::move(j));
  }
  r.jobs = std::move(out);
  return r;
}

std::size_t JobTable::count_in_state(const char* state) const {
  std::size_t n = 0;
  for (const auto& [id, job] : m_live) n += job->info.state == state ? 1 : 0;
  return n;
}

std::vector<std::string> JobTable::users_of(const std::string& binary, int version) const {
  std::vector<std::string> users;
  for (const auto& [id, job] : m_live) {
    if (is_final_job_state(job->info.state)) continue;
    bool uses = job->info.binary == binary && (version == 0 || job->info.binary_version == version);
    for (const auto& dep : job->dependencies) {
      uses = uses || (dep.name == binary && (version == 0 || dep.version == version));
    }
    if (uses) users.push_back(id);
  }
  return users;
}

void JobTable::add_waiter(LiveJob& job, double timeout_s, Reply<JobResult> reply) {
  auto answered = std::make_shared<bool>(false);
  std::shared_ptr<asio::steady_timer> timer;
  if (timeout_s > 0) {
    timer = std::make_shared<asio::steady_timer>(m_io);
    timer->expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(timeout_s * 1000)));
    timer->async_wait([this, answered, id = job.info.id, reply](const boost::system::error_code& ec) {
      if (ec || *answered) return;
      *answered = true;
      JobResult r = result_for(find(id), false);
      r.wait_timed_out = true;
      reply.ok(std::move(r));
    });
  }
  Waiter w;
  w.ended = [answered, timer, reply](const JobInfo& info, const nlohmann::json& result) {
    if (*answered) return;
    *answered = true;
    if (timer) timer->cancel();
    JobResult r;
    r.job = info;
    if (info.has_result) r.result = result;
    reply.ok(std::move(r));
  };
  w.fail = [answered, timer, reply](const Error& e) {
    if (*answered) return;
    *answered = true;
    if (timer) timer->cancel();
    reply.fail(e);
  };
  job.waiters.push_back(std::move(w));
}

void JobTable::kill(const std::string& id, Reply<JobResult> reply) {
  LiveJob* job = live(id);
  if (!job || job->final_pending) {
    JobInfo j = find(id);
    throw Error(ErrorCode::not_found, "No running job with ID " + id + ": it already ended as " + j.state,
                {{"job", id}, {"state", j.state}});
  }
  add_waiter(*job, 0, reply);
  if (job->info.state == job_state::k_queued) {
    bool removed = false;
    if (job->info.adhoc) {
      removed = m_adhoc.remove(id);
    } else if (Context* ctx = m_contexts.find(job->info.context)) {
      removed = ctx->queue.remove(id);
    }
    if (removed) {
      end_live_job(*job, JobOutcome{job_state::k_killed, {}, false, job_error("Job " + id + " killed", "sjs.JobKilled"),
                                    -1, 0, end_reason::k_user, false, ""});
      return;
    }
  }
  job->kill_requested = true;  // in case its ad-hoc context is still starting
  Context* ctx = m_contexts.find(job->info.context);
  if (ctx && ctx->runtime) ctx->runtime->cancel(id, end_reason::k_user);
}

void JobTable::wait(const JobWaitArgs& args, Reply<JobResult> reply) {
  if (args.timeout_s < 0) throw Error(ErrorCode::bad_request, "--timeout must be >= 0 seconds");
  if (LiveJob* job = live(args.id)) {
    add_waiter(*job, args.timeout_s, reply);
    return;
  }
  reply.ok(result_for(find(args.id), true));
}

void JobTable::log(const JobLogArgs& args, Stream stream) {
  JobInfo job = find(args.id);
  std::uint64_t offset = args.from;
  int fd = ::open(log_path(args.id).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (::lseek(fd, static_cast<off_t>(offset), SEEK_SET) < 0) offset = 0;
    std::string buf(1 << 20, '\0');
    for (;;) {
      ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      stream.part(JobLogChunk{buf.substr(0, static_cast<std::size_t>(n)), offset, false, ""});
      offset += static_cast<std::uint64_t>(n);
    }
    ::close(fd);
  }
  LiveJob* l = live(args.id);
  if (args.follow && l && !l->final_pending) {
    l->followers.push_back(std::move(stream));
    return;
  }
  stream.done(JobLogChunk{"", offset, true, job.state});
}

}  // namespace sjs

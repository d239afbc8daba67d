// The job table at start-up: jobs a dead daemon left RUNNING are recorded ERROR (their orphan
// processes killed), QUEUED ones go back into their queues. The rest of the job life cycle is in
// job_table.cpp.
#include <csignal>
#include <cstdlib>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "job_table.hpp"
#include "sjs/errors.hpp"
#include "sjs/util.hpp"

namespace sjs {

namespace {

// True if `pid` is still the process of job `job_id` (it carries SJS_JOB_ID).
bool is_job_process(int pid, const std::string& job_id) {
  if (pid <= 0) return false;
  std::string env;
  try {
    env = read_file("/proc/" + std::to_string(pid) + "/environ");
  } catch (const Error&) {
    return false;
  }
  const std::string needle = std::string("SJS_JOB_ID=") + job_id;
  std::size_t pos = 0;
  while (pos < env.size()) {
    std::size_t end = env.find('\0', pos);
    if (env.compare(pos, end == std::string::npos ? std::string::npos : end - pos, needle) == 0) return true;
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return false;
}

// The processes that carry SJS_JOB_ID=<job_id>: a job's, when its pid was never recorded.
std::vector<int> processes_of_job(const std::string& job_id) {
  std::vector<int> found;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const int pid = std::atoi(name.c_str());
    if (is_job_process(pid, job_id)) found.push_back(pid);
  }
  return found;
}

}  // namespace

void JobTable::repair() {
  m_seq = m_store.last_job_seq();
  // Jobs that were running when the daemon died cannot be resumed: record that.
  for (auto job : m_store.jobs_in_state(job_state::k_running)) {
    // Orphans of the dead daemon: the recorded process group, or, when it died before the pid was
    // committed (RUNNING is committed before the process starts), whatever carries the job's id.
    if (is_job_process(job.pid, job.id)) {
      ::kill(-job.pid, SIGKILL);
    } else if (job.pid == 0) {
      for (int pid : processes_of_job(job.id)) {
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);
      }
    }
    std::error_code ec;
    std::filesystem::remove_all(m_config.data_dir + "/run/" + job.id, ec);  // its scratch dir: no one else removes it
    job.state = job_state::k_error;
    job.ended_ms = now_ms();
    job.end_reason = end_reason::k_daemon_restart;
    job.error = job_error("daemon restarted while the job was running", "sjs.DaemonRestarted");
    spdlog::warn("job {} was running when sjsd stopped: marked ERROR", job.id);
    m_store.put_job(job, nullptr, nullptr);
  }
  // Committed before the first client is served: no one may read such a job as still RUNNING.
  m_store.flush();
}

void JobTable::requeue() {
  for (auto& job : m_store.jobs_in_state(job_state::k_queued)) {
    auto entry = std::make_unique<LiveJob>();
    entry->info = job;
    entry->config = m_store.get_job_config(job.id).value_or(nlohmann::json::object());
    entry->sha256 = m_binaries.sha256_of(job.binary, job.binary_version);
    for (const auto& dep : job.dependencies) {
      auto colon = dep.rfind(':');
      const std::string name = dep.substr(0, colon);
      const int version = std::atoi(dep.substr(colon + 1).c_str());
      const std::string sha = m_binaries.sha256_of(name, version);
      if (!sha.empty()) entry->dependencies.push_back(BinaryRef{name, version, sha, ""});
    }
    LiveJob& l = *entry;
    m_live[job.id] = std::move(entry);
    if (l.sha256.empty() || (!job.adhoc && !m_contexts.find(job.context))) {
      end_live_job(l, JobOutcome{job_state::k_error, {}, false,
                                 job_error(l.sha256.empty() ? "its binary no longer exists"
                                                            : "its context " + job.context + " no longer exists",
                                           "sjs.Orphaned"),
                                 -1, 0, "", false, ""});
      continue;
    }
    enqueue(l);
  }
}

}  // namespace sjs

// job.* ops; the CLI side is cli/commands/job.cpp.
#include "handlers/handlers.hpp"
#include "service.hpp"

namespace sjs {
namespace {

void job_submit(Service& s, const nlohmann::json& args, const Responder& r) {
  s.submit_job(parse_args<JobSubmitArgs>(args), Reply<JobResult>{answer<JobResult>(r), r.fail});
}

void job_status(Service& s, const nlohmann::json& args, const Responder& r) {
  r.done(s.job_status(parse_args<JobIdArgs>(args).id, false));
}

void job_result(Service& s, const nlohmann::json& args, const Responder& r) {
  r.done(s.job_status(parse_args<JobIdArgs>(args).id, true));
}

void job_config(Service& s, const nlohmann::json& args, const Responder& r) {
  r.done(s.job_config(parse_args<JobIdArgs>(args).id));
}

void job_log(Service& s, const nlohmann::json& args, const Responder& r) { s.job_log(parse_args<JobLogArgs>(args), r); }

void job_list(Service& s, const nlohmann::json& args, const Responder& r) {
  r.done(s.list_jobs(parse_args<JobListArgs>(args)));
}

void job_kill(Service& s, const nlohmann::json& args, const Responder& r) {
  s.kill_job(parse_args<JobIdArgs>(args).id, Reply<JobResult>{answer<JobResult>(r), r.fail});
}

void job_wait(Service& s, const nlohmann::json& args, const Responder& r) {
  s.wait_job(parse_args<JobWaitArgs>(args), Reply<JobResult>{answer<JobResult>(r), r.fail});
}

}  // namespace

Handler job_handler(const std::string& op) {
  if (op == op::k_job_submit) return job_submit;
  if (op == op::k_job_status) return job_status;
  if (op == op::k_job_result) return job_result;
  if (op == op::k_job_config) return job_config;
  if (op == op::k_job_log) return job_log;
  if (op == op::k_job_list) return job_list;
  if (op == op::k_job_kill) return job_kill;
  if (op == op::k_job_wait) return job_wait;
  return nullptr;
}

}  // namespace sjs

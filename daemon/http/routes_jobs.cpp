// spark-jobserver's /jobs routes, and sjs's /jobs/<id>/log and /jobs/<id>/config (docs/http-api.md).
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <optional>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "http/routes.hpp"
#include "http/sjs_api.hpp"
#include "sjs/config.hpp"
#include "sjs/hocon.hpp"
#include "sjs/paths.hpp"
#include "sjs/util.hpp"

namespace sjs::jobserver {

void answer_sync(Service& s, JobResult r, const Res& res) {
  if (r.wait_timed_out) {
    if (!is_final_job_state(r.job.state)) return res->send(json_response(202, job_report(r.job, context_ids(s))));
    r = s.job_status(r.job.id, true);  // it ended as the wait expired
  }
  const JobInfo& j = r.job;
  if (j.state == job_state::k_finished) return res->send(json_response(200, json{{"jobId", j.id}, {"result", r.result}}));
  const json error = job_error(j);
  if (j.state == job_state::k_error && j.end_reason == end_reason::k_validation) {
    return res->send(e2(400, "VALIDATION FAILED", error));
  }
  if (j.state == job_state::k_error && j.end_reason == end_reason::k_loading) {
    if (error.value("errorClass", "") == "java.lang.ClassNotFoundException") {
      return res->send(e1(404, "classPath " + j.entry + " not found"));
    }
    return res->send(e2(400, "JOB LOADING FAILED", error));
  }
  res->send(json_response(200, json{{"jobId", j.id}, {"status", j.state == job_state::k_killed ? "KILLED" : "ERROR"},
                                    {"result", error}}));
}

namespace {

// ---- /jobs ------------------------------------------------------------------------

void submit_job(const Call& c) {
  const HttpRequest& req = c.req;
  json config;
  try {
    config = parse_body_config(req.body, "job config");
  } catch (const Error& e) {
    return c.send(e1(400, std::string("Cannot parse config: ") + e.what()));
  }
  // appName + classPath (classic), or cp + mainClass (query, else the config).
  JobSubmitArgs args;
  std::vector<std::string> cp =
      req.has_query("cp") ? split_list(req.query_value("cp")) : config_list(config, "cp");
  std::string main_class = req.query_value("mainClass");
  if (main_class.empty() && config.contains("mainClass") && config["mainClass"].is_string()) {
    main_class = config["mainClass"].get<std::string>();
  }
  if (req.has_query("appName")) {
    if (!req.has_query("classPath")) return c.send(e1(400, "Cannot parse config: classPath parameter is missing!"));
    args.binary = req.query_value("appName");
    args.entry = req.query_value("classPath");
    args.with = config_list(config, "dependent-jar-uris");
  } else if (!cp.empty()) {
    if (main_class.empty()) return c.send(e1(400, "Cannot parse config: mainClass parameter is missing!"));
    args.binary = cp.front();
    args.with.assign(cp.begin() + 1, cp.end());
    args.entry = main_class;
  } else {
    return c.send(e1(400, "Cannot parse config: To start the job appName or cp parameters should be configured!"));
  }
  check_name("binary", args.binary);
  for (const auto& b : args.with) check_name("binary", b);
  args.context = req.query_value("context");
  if (!args.context.empty()) check_name("context", args.context);
  const std::optional<bool> sync = parse_bool(req.query_value("sync", "false"));
  if (!sync) return c.send(e1(400, "invalid value for sync: \"" + req.query_value("sync").substr(0, 100) + "\" (true or false)"));
  if (req.has_query("timeout")) {
    const auto t = parse_seconds(req.query_value("timeout"));
    if (!t) return c.send(e1(400, "invalid timeout \"" + req.query_value("timeout").substr(0, 100) + "\": seconds >= 0"));
    args.wait_timeout_s = *sync ? *t : 0;
  }
  args.callback_url = req.query_value("callbackUrl");  // the service refuses a bad one (400)
  args.sync = *sync;
  args.config = std::move(config);

  Service& s = c.s;
  const Res res = c.res;
  const bool wait = *sync;
  try {
    s.submit_job(args, Reply<JobResult>{[&s, res, wait](JobResult r) {
                                          guarded(res, [&] {
                                            if (!wait) {
                                              return res->send(json_response(202, job_report(r.job, context_ids(s), true)));
                                            }
                                            answer_sync(s, std::move(r), res);
                                          });
                                        },
                                        [res](const Error& e) { res->send(from_error(e)); }});
  } catch (const Error& e) {
    // The service names what was missing or busy (Error::details): spark-jobserver's answers.
    if (e.code() == ErrorCode::not_found && !e.detail("binary").empty()) {
      return c.send(e1(404, "appName " + e.detail("binary") + " not found"));
    }
    if (e.code() == ErrorCode::not_found && !e.detail("context").empty()) {
      return c.send(e1(404, "context " + e.detail("context") + " not found"));
    }
    if (e.code() == ErrorCode::in_use) return c.send(e1(409, "Context stop in progress"));
    if (e.code() == ErrorCode::bad_request && e.detail("reason") == "wrong_type") {
      return c.send(e1(400, "Invalid job type for this context"));
    }
    throw;
  }
}

void list_jobs(const Call& c) {
  JobListArgs args;
  if (c.req.has_query("limit")) {
    const auto n = parse_int(c.req.query_value("limit"));
    if (!n || *n < 0 || *n > 100000) {
      return c.send(e1(400, "invalid limit \"" + c.req.query_value("limit").substr(0, 100) + "\": a number from 0 to 100000"));
    }
    args.limit = static_cast<int>(*n);
  }
  if (args.limit == 0) return c.send(json_response(200, json::array()));
  // Status, case-insensitive. RUNNING includes sjs's QUEUED (shown as RUNNING).
  const std::string status = ascii_upper(c.req.query_value("status"));
  if (status == job_state::k_running) {
    args.states = {job_state::k_running, job_state::k_queued};
  } else if (status == "STARTED" || status == "RESTARTING") {
    return c.send(json_response(200, json::array()));  // states sjs never stores
  } else if (status.empty() || is_job_state(status)) {
    args.state = status;
  } else {
    return c.send(e1(400, "unknown job status \"" + c.req.query_value("status").substr(0, 100) +
                              "\": use RUNNING, FINISHED, ERROR, KILLED (or QUEUED)"));
  }
  const std::vector<JobInfo> jobs = c.s.list_jobs(args).jobs;
  const auto ids = context_ids(c.s);
  json out = json::array();
  for (const auto& j : jobs) out.push_back(job_report(j, ids));
  c.send(json_response(200, out));
}

void show_job(const Call& c, const std::string& id) {
  JobResult r;
  try {
    r = c.s.job_status(id, true);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::not_found) throw;
    return c.send(e1(404, "No such job ID " + id));
  }
  json report = job_report(r.job, context_ids(c.s));
  if (r.job.state == job_state::k_finished) report["result"] = r.result;
  c.send(json_response(200, report));
}

void job_config(const Call& c, const std::string& id) {
  try {
    c.send(json_response(200, c.s.job_config(id).config));
  } catch (const Error& e) {
    if (e.code() != ErrorCode::not_found) throw;
    c.send(e1(404, "No such job ID " + id));
  }
}

void kill_job(const Call& c, const std::string& id) {
  JobInfo job;
  try {
    job = c.s.job_status(id, false).job;
  } catch (const Error& e) {
    if (e.code() != ErrorCode::not_found) throw;
    return c.send(e1(404, "No such job ID " + id));
  }
  const Res res = c.res;
  // How a job that has ended answers a DELETE.
  auto ended = [res, id](const JobInfo& j) {
    if (j.state == job_state::k_killed) return res->send(json_response(200, json{{"status", "KILLED"}}));
    if (j.state == job_state::k_error) return res->send(json_response(200, json{{"status", "ERROR"}, {"ERROR", job_error(j)}}));
    res->send(e1(404, "No running job with ID " + id));
  };
  if (job.state == job_state::k_error) return ended(job);
  if (is_final_job_state(job.state)) return c.send(e1(404, "No running job with ID " + id));
  auto fail = [res, id](const Error& e) {
    if (e.code() == ErrorCode::not_found) return res->send(e1(404, "No running job with ID " + id));
    res->send(from_error(e));
  };
  try {
    c.s.kill_job(id, Reply<JobResult>{[ended](JobResult r) { ended(r.job); }, fail});
  } catch (const Error& e) {
    fail(e);
  }
}

// GET /jobs/<id>/log[?from=N][&size=M][&follow=true] (sjs's extension): the job's log
// (its output) as text from byte `from`, at most `size` bytes; with follow, streamed
// (chunked) until the job ends. X-Sjs-Log-Offset: the offset after the text (not when streamed).
void job_log(const Call& c, const std::string& id) {
  JobLogArgs args;
  args.id = id;
  std::uint64_t limit = 0;
  for (const char* key : {"from", "size"}) {
    if (!c.req.has_query(key)) continue;
    const auto n = parse_int(c.req.query_value(key));
    if (!n || *n < 0) {
      return c.send(e1(400, std::string("invalid ") + key + " \"" + c.req.query_value(key).substr(0, 100) +
                                "\": a number of bytes >= 0"));
    }
    (std::string(key) == "from" ? args.from : limit) = static_cast<std::uint64_t>(*n);
  }
  const auto follow = parse_bool(c.req.query_value("follow", "false"));
  if (!follow) return c.send(e1(400, "invalid value for follow (true or false)"));
  args.follow = *follow;
  try {
    c.s.job_status(id, false);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::not_found) throw;
    return c.send(e1(404, "No such job ID " + id));
  }
  struct LogState {
    std::string body;
    std::uint64_t limit = 0;  // 0 = all
    std::uint64_t sent = 0;
    std::uint64_t next = 0;
    bool follow = false;
    bool streaming = false;
    bool ended = false;
  };
  auto st = std::make_shared<LogState>();
  st->limit = limit;
  st->next = args.from;
  st->follow = args.follow;
  const Res res = c.res;
  const auto text = "text/plain; charset=utf-8";
  Stream stream;
  stream.part = [st, res, text](json part) {
    if (st->ended) return;
    std::string data = part.value("data", "");
    const std::uint64_t offset = part.value("offset", std::uint64_t{0});
    if (st->limit && st->sent + data.size() > st->limit) data.resize(st->limit - st->sent);
    st->sent += data.size();
    st->next = offset + data.size();
    if (!st->follow) {
      st->body += data;
      return;
    }
    if (!st->streaming) {
      st->streaming = true;
      res->begin_stream(200, text);
    }
    res->write_chunk(data);
    if (st->limit && st->sent >= st->limit) {
      st->ended = true;
      res->end_stream();
    }
  };
  stream.done = [st, res, text](json last) {
    if (st->ended) return;
    st->ended = true;
    if (st->streaming) return res->end_stream();
    HttpResponse r{200, text, std::move(st->body), {}};
    r.headers.emplace_back("X-Sjs-Log-Offset",
                           std::to_string(st->sent ? st->next : last.value("offset", st->next)));
    res->send(std::move(r));
  };
  stream.fail = [st, res](const Error& e) {
    if (st->ended) return;
    st->ended = true;
    if (st->streaming) return res->end_stream();
    res->send(from_error(e));
  };
  stream.open = [st, res] { return !st->ended && res->open(); };
  c.s.job_log(args, stream);
}
}  // namespace


// false: not a route of this family.
bool route_jobs(const Call& c) {
  const auto& seg = c.req.segments;
  const std::string& m = c.req.method;
  if (route_pipeline_compat(c)) return true;
  if (seg.size() == 1) {
    if (m == "GET") {
      if (c.permitted("jobs:read")) list_jobs(c);
    } else if (m == "POST") {
      if (c.permitted("jobs:start")) submit_job(c);
    } else {
      c.method_not_allowed("GET, POST");
    }
    return true;
  }
  const std::string& id = seg[1];
  if (seg.size() == 2) {
    if (m == "GET") {
      if (c.permitted("jobs:read")) show_job(c, id);
    } else if (m == "DELETE") {
      if (c.permitted("jobs:delete")) kill_job(c, id);
    } else {
      c.method_not_allowed("GET, DELETE");
    }
    return true;
  }
  if (seg.size() == 3 && seg[2] == "log") {
    if (m != "GET") {
      c.method_not_allowed("GET");
    } else if (c.permitted("jobs:read")) {
      job_log(c, id);
    }
    return true;
  }
  if (seg.size() == 3 && seg[2] == "config") {
    if (m != "GET") {
      c.method_not_allowed("GET");
    } else if (c.permitted("jobs:read")) {
      job_config(c, id);
    }
    return true;
  }
  return false;
}

}  // namespace sjs::jobserver

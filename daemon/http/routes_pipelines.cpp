// Step pipelines over HTTP (docs/http-api.md, "Step pipelines"): sjs's POST /pipelines, and the two
// calls of the pipeline REST server sjs replaces, POST /jobs/submit and GET /jobs/status/<id>. A
// pipeline is a job on a step library (the service checks its shape; the worker its steps).
#include "http/routes.hpp"
#include "http/sjs_api.hpp"
#include "sjs/util.hpp"

namespace sjs::jobserver {

namespace {

json parse_json_body(const std::string& body, const char* what) {
  check_json_nesting(body, std::string(what));
  json j = json::parse(body.empty() ? std::string("{}") : body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    throw Error(ErrorCode::bad_request, std::string(what) + " must be a JSON object, e.g. " +
                                            "{\"steps\": [[\"load_text\", \"/data/in.txt\"], [\"words\"]]}");
  }
  return j;
}

std::string string_field(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return "";
  if (!it->is_string()) throw Error(ErrorCode::bad_request, std::string("\"") + key + "\" must be a string");
  return it->get<std::string>();
}

// The job a pipeline body asks for: its steps and options (the job's config, secrets included).
JobSubmitArgs pipeline_args(const json& body, std::string library, std::string context) {
  JobSubmitArgs args;
  args.binary = std::move(library);
  args.context = std::move(context);
  if (!body.contains("steps")) {
    throw Error(ErrorCode::bad_request, "no \"steps\": give the pipeline's steps, e.g. "
                                        "\"steps\": [[\"load_text\", \"/data/in.txt\"], [\"words\"]]");
  }
  args.steps = body["steps"];
  if (body.contains("options") && !body["options"].is_null()) {
    if (!body["options"].is_object()) throw Error(ErrorCode::bad_request, "\"options\" must be a JSON object");
    args.config = body["options"];
  }
  check_name("binary", args.binary);
  if (!args.context.empty()) check_name("context", args.context);
  return args;
}

// POST /pipelines {"library", "context", "options", "steps"}[?sync=true]: 202 with the job's report
// (as POST /jobs), or with sync its outcome.
void post_pipeline(const Call& c) {
  const json body = parse_json_body(c.req.body, "a pipeline");
  const std::string library = string_field(body, "library");
  if (library.empty()) {
    throw Error(ErrorCode::bad_request, "no \"library\": name the step library (a py, wheel or egg binary)");
  }
  JobSubmitArgs args = pipeline_args(body, library, string_field(body, "context"));
  const std::optional<bool> sync = parse_bool(c.req.query_value("sync", "false"));
  if (!sync) return c.send(e1(400, "invalid value for sync (true or false)"));
  args.sync = *sync;
  Service& s = c.s;
  const Res res = c.res;
  s.submit_job(args, Reply<JobResult>{[&s, res, sync = *sync](JobResult r) {
                                        guarded(res, [&] {
                                          if (!sync) return res->send(json_response(202, job_report(r.job, context_ids(s), true)));
                                          answer_sync(s, std::move(r), res);
                                        });
                                      },
                                      [res](const Error& e) { res->send(from_error(e)); }});
}

// POST /jobs/submit {"options", "steps"}: {"job_id"}, on sjsd.conf's pipelines.default-library and
// pipelines.default-context. Refusals answer {"error": message} with the error's status.
void submit_compat(const Call& c) {
  const std::string& library = c.s.config().pipelines_default_library;
  if (library.empty()) {
    return c.send(json_response(503, json{{"error", "this sjsd has no default step library: set "
                                                    "pipelines.default-library in sjsd.conf, or use POST /pipelines"}}));
  }
  const Res res = c.res;
  auto refuse = [res](const Error& e) { res->send(json_response(error_info(e.code()).http_status, json{{"error", e.what()}})); };
  try {
    JobSubmitArgs args =
        pipeline_args(parse_json_body(c.req.body, "a submission"), library, c.s.config().pipelines_default_context);
    c.s.submit_job(args, Reply<JobResult>{[res](JobResult r) {
                                            res->send(json_response(200, json{{"job_id", r.job.id}}));
                                          },
                                          refuse});
  } catch (const Error& e) {
    refuse(e);
  }
}

// GET /jobs/status/<id>: {"status": "QUEUED" | "RUNNING" | "FINISHED" | "ERROR" | "KILLED"};
// 404 {"status": "NOT_FOUND"} only for an id sjsd does not know.
void status_compat(const Call& c, const std::string& id) {
  try {
    c.send(json_response(200, json{{"status", c.s.job_status(id, false).job.state}}));
  } catch (const Error& e) {
    if (e.code() != ErrorCode::not_found) throw;
    c.send(json_response(404, json{{"status", "NOT_FOUND"}}));
  }
}

}  // namespace

void route_pipelines(const Call& c) {
  if (c.req.segments.size() != 1) return c.send(e1(404, "not found: POST /pipelines"));
  if (c.req.method != "POST") return c.method_not_allowed("POST");
  if (c.permitted("jobs:start")) post_pipeline(c);
}

bool route_pipeline_compat(const Call& c) {
  const auto& seg = c.req.segments;
  if (seg.size() == 2 && seg[1] == "submit") {
    if (c.req.method != "POST") c.method_not_allowed("POST");
    else if (c.permitted("jobs:start")) submit_compat(c);
    return true;
  }
  if (seg.size() == 3 && seg[1] == "status") {
    if (c.req.method != "GET") c.method_not_allowed("GET");
    else if (c.permitted("jobs:read")) status_compat(c, seg[2]);
    return true;
  }
  return false;
}

}  // namespace sjs::jobserver

// sjs's own HTTP API: the client protocol's ops over HTTP, for `sjs --url`.
//   POST /sjs/v1/<op>            body: the op's args (JSON)  -> the protocol envelope
//   POST /sjs/v1/upload/<name>   body: the file's bytes; ?type=jar|exec|py|so
// A streamed op (job.log with follow) answers with chunked NDJSON: one envelope per line.
// When auth is on, each op needs its permission (rpc_ops() below): 403 "forbidden" without it.
// route_http, at the bottom, dispatches every HTTP request.
#include <nlohmann/json.hpp>

#include "handlers/handlers.hpp"
#include "http/auth.hpp"
#include "http/metrics.hpp"
#include "http/openapi.hpp"
#include "http/routes.hpp"
#include "sjs/cluster_messages.hpp"
#include "service.hpp"
#include "sjs/errors.hpp"
#include "sjs/messages.hpp"
#include "sjs/util.hpp"

namespace sjs {
namespace {

nlohmann::json envelope_error(const Error& e) {
  return {{"ok", false}, {"error", error_to_json(e)}};
}

// A protocol Responder that answers over HTTP.
Responder http_responder(const std::shared_ptr<HttpResponder>& http) {
  auto streaming = std::make_shared<bool>(false);
  Responder r;
  r.part = [http, streaming](nlohmann::json result) {
    if (!*streaming) {
      *streaming = true;
      http->begin_stream(200, "application/x-ndjson");
    }
    http->write_chunk(nlohmann::json{{"ok", true}, {"more", true}, {"result", std::move(result)}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  };
  r.done = [http, streaming](nlohmann::json result) {
    nlohmann::json env = {{"ok", true}, {"result", std::move(result)}};
    if (*streaming) {
      http->write_chunk(env.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
      http->end_stream();
      return;
    }
    http->send(HttpResponse{200, "application/json", env.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), {}});
  };
  r.fail = [http, streaming](const Error& e) {
    if (*streaming) {
      http->write_chunk(envelope_error(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
      http->end_stream();
      return;
    }
    http->send(HttpResponse{error_info(e.code()).http_status, "application/json", envelope_error(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), {}});
  };
  r.open = [http] { return http->open(); };
  return r;
}

// The permission `op` needs: its entry in rpc_ops(), "*" for an op not listed there.
std::string permission_for(const std::string& op) {
  for (const auto& o : rpc_ops()) {
    if (op == o.op) return o.permission;
  }
  return "*";
}

// False (having answered 403 "forbidden") when auth is on and the user lacks the permission.
bool permitted(const HttpRequest& req, const std::string& op, const Responder& r) {
  const std::string permission = permission_for(op);
  if (permission.empty() || req.allowed(permission)) return true;
  r.fail(Error(ErrorCode::forbidden,
               "user \"" + req.user + "\" lacks permission " + permission + " (needed by " + op + ")"));
  return false;
}

}  // namespace

const std::vector<RpcOp>& rpc_ops() {
  static const std::vector<RpcOp> k_ops = {
      {op::k_hello, "", "Protocol handshake: versions and capabilities"},
      {op::k_binary_list, "binaries:read", "List binaries (newest version of each)"},
      {op::k_binary_show, "binaries:read", "A binary's versions"},
      {op::k_binary_delete, "binaries:delete", "Delete a binary, or one version"},
      {op::k_binary_steps, "binaries:read", "A step library's steps: names, parameters, first doc lines"},
      {op::k_binary_upload, "binaries:upload", "Over HTTP: use POST /sjs/v1/upload/<name>"},
      {op::k_context_create, "contexts:start", "Create and start a context"},
      {op::k_context_list, "contexts:read", "List contexts"},
      {op::k_context_show, "contexts:read", "One context"},
      {op::k_context_delete, "contexts:delete", "Stop and delete a context"},
      {op::k_context_restart, "contexts:reset", "Restart a context"},
      {op::k_context_objects, "contexts:read", "Named objects a context holds"},
      {op::k_job_submit, "jobs:start", "Submit a job (sync: answer when it ends)"},
      {op::k_job_status, "jobs:read", "A job's status"},
      {op::k_job_result, "jobs:read", "A job's status and result"},
      {op::k_job_config, "jobs:read", "A job's config (secrets redacted)"},
      {op::k_job_log, "jobs:read", "A job's log (follow: streamed as NDJSON)"},
      {op::k_job_list, "jobs:read", "List jobs, newest first"},
      {op::k_job_kill, "jobs:delete", "Kill a job"},
      {op::k_job_wait, "jobs:read", "Wait until a job ends"},
      {op::k_cluster_list, "jobs:read", "List partition-server clusters"},
      {op::k_cluster_show, "jobs:read", "One cluster: state and its servers' addresses"},
      {op::k_cluster_wait, "jobs:read", "Wait until a cluster is READY (or ended)"},
      {op::k_cluster_stop, "jobs:delete", "Stop a cluster and collect its results"},
      {op::k_cluster_result, "jobs:read", "A stopped cluster's results"},
      {op::k_daemon_status, "", "The daemon's status"},
      {op::k_daemon_stop, "*", "Stop the daemon"},
  };
  return k_ops;
}

bool route_rpc(Service& service, const HttpRequest& req, const std::shared_ptr<HttpResponder>& responder) {
  const auto& s = req.segments;
  if (s.size() < 2 || s[0] != "sjs" || s[1] != "v1") return false;
  Responder r = http_responder(responder);
  if (req.method != "POST") {
    r.fail(Error(ErrorCode::usage, "sjs's API takes POST /sjs/v1/<op> (docs/http-api.md)"));
    return true;
  }
  if (s.size() == 4 && s[2] == "upload") {
    if (!permitted(req, op::k_binary_upload, r)) return true;
    if (req.body_file.empty()) {
      r.fail(Error(ErrorCode::bad_request, "upload: the request has no body"));
      return true;
    }
    BinaryUploadArgs args{s[3], req.body_file, req.query_value("type"), req.query_value("filename", s[3])};
    try {
      service.upload_binary(args, true, Reply<BinaryInfo>{[r](BinaryInfo b) { r.done(nlohmann::json(b)); }, r.fail});
    } catch (const Error& e) {
      r.fail(e);
    }
    return true;
  }
  if (s.size() != 3) {
    r.fail(Error(ErrorCode::usage, "unknown sjs API route " + req.path + " (POST /sjs/v1/<op>)"));
    return true;
  }
  if (!permitted(req, s[2], r)) return true;
  if (json_nesting(req.body) > k_max_json_depth) {
    r.fail(Error(ErrorCode::bad_request, "the body of POST /sjs/v1/" + s[2] + " nests arrays or objects more than " +
                                             std::to_string(k_max_json_depth) + " levels deep"));
    return true;
  }
  nlohmann::json args = req.body.empty() ? nlohmann::json::object() : nlohmann::json::parse(req.body, nullptr, false);
  if (args.is_discarded() || !args.is_object()) {
    r.fail(Error(ErrorCode::protocol, "the body of POST /sjs/v1/" + s[2] + " must be a JSON object of its args"));
    return true;
  }
  if (s[2] == op::k_binary_upload) {
    r.fail(Error(ErrorCode::usage, "upload binaries over HTTP with POST /sjs/v1/upload/<name> (the file as the body)"));
    return true;
  }
  dispatch(service, s[2], args, r);
  return true;
}

HttpResponse http_error(int status, const std::string& message) {
  return HttpResponse{status, "application/json", nlohmann::json{{"status", "ERROR"}, {"result", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), {}};
}

void route_http(Service& service, const HttpSite& site, const HttpRequest& req,
                const std::shared_ptr<HttpResponder>& responder) {
  if (site.cors && site.cors->is_preflight(req)) {
    responder->send(site.cors->preflight(req));
    return;
  }
  const bool metrics = site.metrics && req.segments.size() == 1 && req.segments[0] == "metrics";
  const bool openapi = req.segments.size() == 1 && req.segments[0] == "openapi.json";
  if (metrics || openapi) {
    if (req.method != "GET") {
      HttpResponse r = http_error(405, req.method + " is not allowed on " + req.path + " (use GET)");
      r.headers.emplace_back("Allow", "GET");
      responder->send(std::move(r));
    } else if (metrics) {
      serve_metrics(service, *site.metrics, req, *responder);
    } else {
      serve_openapi(req, *responder);
    }
    return;
  }
  if (route_rpc(service, req, responder)) return;
  if (route_sjs(service, req, responder)) return;
  responder->send(http_error(404, "no route for " + req.method + " " + req.path + " (see GET /openapi.json)"));
}

}  // namespace sjs

#include "http/openapi.hpp"

#include <map>
#include <vector>

#include "http/routes.hpp"
#include "sjs/errors.hpp"

namespace sjs {
namespace {

struct Param {
  const char* name;
  const char* in;  // path | query | header
  bool required;
  const char* type;  // string | integer | boolean | number
  const char* description;
};

struct Route {
  const char* method;  // lower-case, as OpenAPI keys it
  const char* path;
  const char* tag;
  const char* summary;
  const char* permission;  // "" = any authenticated user, nullptr = never behind auth
  std::vector<Param> params;
  const char* body;  // "" = none; else "<content type>|<description>"
  std::vector<std::pair<int, const char*>> responses;
};

const Param k_name{"name", "path", true, "string", "binary, context or data-file name"};
const Param k_job_id{"id", "path", true, "string", "job id (a UUID)"};

// spark-jobserver's routes (../shared/reference/spark-jobserver-api.md) and sjs's extensions.
std::vector<Route> http_routes() {
  const char* e1 = "error: {\"status\":\"ERROR\",\"result\":\"<message>\"}";
  return {
      {"get",
       "/binaries",
       "binaries",
       "List binaries: an object of name -> {binary-type, upload-time}, newest version",
       "binaries:read",
       {},
       "",
       {{200, "the binaries"}}},
      {"get",
       "/binaries/{name}",
       "binaries",
       "One binary: {app-name, binary-type, upload-time}",
       "binaries:read",
       {k_name},
       "",
       {{200, "the binary"}, {404, e1}}},
      {"post",
       "/binaries/{name}",
       "binaries",
       "Upload a version of a binary; the Content-Type picks its type (application/java-archive, "
       "application/python-egg, application/python-wheel, application/python-archive; sjs's own types: see "
       "docs/http-api.md)",
       "binaries:upload",
       {k_name, {"Content-Type", "header", true, "string", "the binary's type"}},
       "application/octet-stream|the file's bytes",
       {{201, "{\"status\":\"SUCCESS\"}"},
        {400, "not a zip / bad name"},
        {413, "over http.max-body-mb"},
        {415, "unsupported Content-Type"},
        {500, "storage failure"}}},
      {"delete",
       "/binaries/{name}",
       "binaries",
       "Delete every version of a binary",
       "binaries:delete",
       {k_name},
       "",
       {{200, "{\"status\":\"SUCCESS\"}"}, {403, "in use by queued or running jobs"}, {404, e1}}},
      {"get",
       "/jars",
       "binaries",
       "Legacy: jars as an object of name -> upload time",
       "binaries:read",
       {},
       "",
       {{200, "the jars"}}},
      {"post",
       "/jars/{name}",
       "binaries",
       "Legacy: upload a jar",
       "binaries:upload",
       {k_name},
       "application/java-archive|the jar's bytes",
       {{200, "{\"status\":\"SUCCESS\",\"result\":\"Jar uploaded\"}"}, {400, "not a jar"}, {413, "too large"}}},

      {"get",
       "/contexts",
       "contexts",
       "List contexts: an array of names (alive ad-hoc ones included)",
       "contexts:read",
       {},
       "",
       {{200, "the names"}}},
      {"put",
       "/contexts",
       "contexts",
       "Reset: stop every context and re-create the configured ones",
       "contexts:reset",
       {{"reset", "query", true, "string", "reboot"}, {"sync", "query", false, "boolean", "wait (default true)"}},
       "",
       {{200, "{\"status\":\"SUCCESS\",\"result\":\"Context reset\"}"}, {400, e1}}},
      {"get",
       "/contexts/{name}",
       "contexts",
       "One context: {id, name, startTime, endTime, state}",
       "contexts:read",
       {k_name},
       "",
       {{200, "the context"}, {404, e1}}},
      {"post",
       "/contexts/{name}",
       "contexts",
       "Create and start a context",
       "contexts:start",
       {k_name,
        {"num-cpu-cores", "query", false, "integer", "spark.cores.max"},
        {"memory-per-node", "query", false, "string", "spark.executor.memory"},
        {"context-factory", "query", false, "string", "the runtime (sjs: exec, jvm, spark, python, native)"},
        {"runtime", "query", false, "string", "sjs: the context's runtime"}},
       "text/plain|optional HOCON; a spark.context-settings block beats query parameters",
       {{200, "{\"status\":\"SUCCESS\",\"result\":\"Context initialized\"}"},
        {400, "bad name, or the context exists"},
        {500, "CONTEXT INIT ERROR"}}},
      {"delete",
       "/contexts/{name}",
       "contexts",
       "Stop and delete a context",
       "contexts:delete",
       {k_name, {"force", "query", false, "boolean", "kill its running jobs"}},
       "",
       {{200, "{\"status\":\"SUCCESS\",\"result\":\"Context stopped\"}"},
        {202, "stopping (Location header)"},
        {404, e1}}},

      {"get",
       "/jobs",
       "jobs",
       "List jobs, newest first",
       "jobs:read",
       {{"limit", "query", false, "integer", "at most this many (default 50)"},
        {"status", "query", false, "string", "only jobs in this state (case-insensitive)"}},
       "",
       {{200, "an array of job reports"}, {400, e1}}},
      {"post",
       "/jobs",
       "jobs",
       "Submit a job",
       "jobs:start",
       {{"appName", "query", false, "string", "the binary (with classPath)"},
        {"classPath", "query", false, "string", "the entry point (with appName)"},
        {"cp", "query", false, "string", "comma-separated binaries (with mainClass)"},
        {"mainClass", "query", false, "string", "the entry point (with cp)"},
        {"context", "query", false, "string", "a named context (default: an ad-hoc one)"},
        {"sync", "query", false, "boolean", "answer when the job ends"},
        {"timeout", "query", false, "integer", "sync: seconds to wait for the result"},
        {"callbackUrl", "query", false, "string", "POSTed the outcome when the job ends"}},
       "text/plain|the job's config: HOCON, JSON or k=v&k2=v2",
       {{200, "sync: {jobId, result} or the ERROR shape"},
        {202, "async: a job report with status STARTED"},
        {400, "VALIDATION FAILED, Cannot parse config, ..."},
        {404, "appName, classPath or context not found"},
        {409, "context stop in progress"},
        {503, "NO SLOTS AVAILABLE (only past a configured queue bound)"}}},
      {"get", "/jobs/{id}", "jobs", "A job report", "jobs:read", {k_job_id}, "", {{200, "the report"}, {404, e1}}},
      {"delete",
       "/jobs/{id}",
       "jobs",
       "Kill a job",
       "jobs:delete",
       {k_job_id},
       "",
       {{200, "{\"status\":\"KILLED\"} (or the ERROR shape for a failed job)"}, {404, "no such job, or not running"}}},
      {"get",
       "/jobs/{id}/config",
       "jobs",
       "The job's config (secrets redacted)",
       "jobs:read",
       {k_job_id},
       "",
       {{200, "the config"}, {404, e1}}},
      {"get",
       "/jobs/{id}/log",
       "jobs",
       "sjs: the job's log (stdout and stderr)",
       "jobs:read",
       {k_job_id,
        {"from", "query", false, "integer", "byte offset"},
        {"size", "query", false, "integer", "at most this many bytes"},
        {"follow", "query", false, "boolean", "stream until the job ends (chunked)"}},
       "",
       {{200, "text/plain"}, {404, e1}}},

      {"post",
       "/pipelines",
       "pipelines",
       "sjs: run a step pipeline of a step library (no code sent)",
       "jobs:start",
       {{"sync", "query", false, "boolean", "answer when the job ends"}},
       "application/json|{\"library\", \"context\", \"options\", \"steps\": [[\"step\", arg...], ...]}",
       {{200, "sync: {jobId, result} or the ERROR shape"},
        {202, "async: a job report"},
        {400, "a malformed body, VALIDATION FAILED"},
        {404, "library or context not found"}}},
      {"post",
       "/jobs/submit",
       "pipelines",
       "Pipeline REST server compatible: run steps on pipelines.default-library",
       "jobs:start",
       {},
       "application/json|{\"options\": {...}, \"steps\": [[\"step\", arg...], ...]}",
       {{200, "{\"job_id\": \"<id>\"}"}, {400, "{\"error\": message}"}, {503, "no pipelines.default-library"}}},
      {"get",
       "/jobs/status/{id}",
       "pipelines",
       "Pipeline REST server compatible: a job's state",
       "jobs:read",
       {k_job_id},
       "",
       {{200, "{\"status\": \"QUEUED\" | \"RUNNING\" | \"FINISHED\" | \"ERROR\" | \"KILLED\"}"},
        {404, "{\"status\": \"NOT_FOUND\"}"}}},

      {"get",
       "/clusters",
       "clusters",
       "sjs: partition-server clusters, newest first: an array of cluster records",
       "jobs:read",
       {},
       "",
       {{200, "[{name, job, context, runtime, state, partitions, registered, servers, ...}]"}}},
      {"get",
       "/clusters/{name}",
       "clusters",
       "sjs: one cluster: its state and each partition server's address (the map clients use)",
       "jobs:read",
       {{"name", "path", true, "string", "cluster name"}},
       "",
       {{200, "the cluster: {..., servers: [{partition, host, port, url, state, since_ms, error}]}"}, {404, e1}}},
      {"delete",
       "/clusters/{name}",
       "clusters",
       "sjs: stop a cluster (every server's /control/shutdown), collect its results",
       "jobs:delete",
       {{"name", "path", true, "string", "cluster name"},
        {"sync", "query", false, "boolean", "wait until it ended (default true)"},
        {"timeout", "query", false, "number", "with sync: stop waiting after this many seconds (then 202)"}},
       "",
       {{200, "the ended cluster"}, {202, "still stopping (sync=false, or the timeout passed)"}, {404, e1}}},
      {"get",
       "/clusters/{name}/result",
       "clusters",
       "sjs: a stopped cluster's results, one per partition: {cluster, results}",
       "jobs:read",
       {{"name", "path", true, "string", "cluster name"}},
       "",
       {{200, "{cluster, results}"}, {403, "the cluster still serves (in_use)"}, {404, e1}}},
      {"post",
       "/clusters/{name}/register",
       "clusters",
       "sjs: a partition server registers its address; the X-SJS-Cluster-Token header is the credential",
       nullptr,
       {{"name", "path", true, "string", "cluster name"},
        {"X-SJS-Cluster-Token", "header", true, "string", "the token sjsd issued to the cluster's job"}},
       "application/json|{\"partition\": N, \"host\": \"H\", \"port\": P}",
       {{200, "{cluster, partition, state}"},
        {400, "a malformed body, a partition or port out of range"},
        {403, "a wrong or missing token (logged)"},
        {404, "no such cluster"},
        {409, "the cluster is stopping or ended"}}},

      {"get", "/data", "data", "List data files: an array of paths", "data:read", {}, "", {{200, "the paths"}}},
      {"put",
       "/data",
       "data",
       "Reset: delete every data file",
       "data:reset",
       {{"reset", "query", true, "string", "reboot"}, {"sync", "query", false, "boolean", "wait (default true)"}},
       "",
       {{200, "{\"status\":\"SUCCESS\",\"result\":\"Data reset\"}"}, {400, e1}}},
      {"post",
       "/data/{name}",
       "data",
       "Upload a data file",
       "data:upload",
       {k_name},
       "application/octet-stream|the file's bytes",
       {{200, "{\"result\":{\"filename\":\"<path>\"}}"}, {400, e1}, {413, "too large"}}},
      {"delete",
       "/data/{name}",
       "data",
       "Delete a data file (its url-encoded path)",
       "data:delete",
       {k_name},
       "",
       {{200, "{\"status\":\"SUCCESS\"}"}, {404, e1}}},

      {"get",
       "/healthz",
       "daemon",
       "Health check (never behind auth)",
       nullptr,
       {},
       "",
       {{200, "{\"status\":\"SUCCESS\"}"}}},
      {"get",
       "/metrics",
       "daemon",
       "Prometheus metrics (text format 0.0.4)",
       "jobs:read",
       {},
       "",
       {{200, "text/plain; version=0.0.4"}}},
      {"get", "/openapi.json", "daemon", "This document", "", {}, "", {{200, "OpenAPI 3.0 JSON"}}},

      {"post",
       "/sjs/v1/upload/{name}",
       "sjs",
       "sjs's API: upload a version of a binary (the file as the body)",
       "binaries:upload",
       {k_name,
        {"type", "query", false, "string", "jar | exec | py | so (default: detected)"},
        {"filename", "query", false, "string", "the original file name, for type detection"}},
       "application/octet-stream|the file's bytes",
       {{200, "{\"ok\":true,\"result\":<BinaryInfo>}"}, {400, "error envelope"}, {413, "too large"}}},
  };
}

nlohmann::json schema_of(const char* type) {
  return {{"type", type}};
}

nlohmann::json operation(const Route& r) {
  nlohmann::json op = {{"tags", {r.tag}}, {"summary", r.summary}};
  nlohmann::json params = nlohmann::json::array();
  for (const auto& p : r.params) {
    params.push_back({{"name", p.name},
                      {"in", p.in},
                      {"required", p.required},
                      {"schema", schema_of(p.type)},
                      {"description", p.description}});
  }
  if (!params.empty()) op["parameters"] = params;
  std::string body = r.body;
  if (!body.empty()) {
    auto bar = body.find('|');
    op["requestBody"] = {{"description", body.substr(bar + 1)},
                         {"content", {{body.substr(0, bar), {{"schema", {{"type", "string"}}}}}}}};
  }
  nlohmann::json responses = nlohmann::json::object();
  for (const auto& [code, what] : r.responses) responses[std::to_string(code)] = {{"description", what}};
  if (r.permission) {
    responses["401"] = {{"description", "auth is on and the credentials are missing or wrong (WWW-Authenticate)"}};
    if (*r.permission) responses["403"] = {{"description", std::string("lacks permission ") + r.permission}};
    op["security"] = {{{"basic", nlohmann::json::array()}}, {{"bearer", nlohmann::json::array()}}};
    op["x-sjs-permission"] = *r.permission ? r.permission : "any authenticated user";
  } else {
    op["security"] = nlohmann::json::array();
  }
  op["responses"] = responses;
  return op;
}

nlohmann::json build() {
  nlohmann::json paths = nlohmann::json::object();
  for (const auto& r : http_routes()) paths[r.path][r.method] = operation(r);
  // sjs's own API: one path per op of the client protocol.
  // Their error statuses come from the one error table (errors.cpp).
  std::map<int, std::string> errors;
  for (const auto& e : error_table()) {
    std::string& names = errors[e.http_status];
    names += (names.empty() ? "" : ", ") + std::string(e.name);
  }
  for (const auto& op : rpc_ops()) {
    Route r{"post", "", "sjs", op.summary, op.permission, {}, "application/json|the op's args (docs/protocol.md)",
            {{200, "{\"ok\":true,\"result\":...} (streamed ops: chunked NDJSON, one envelope per line)"}}};
    nlohmann::json o = operation(r);
    for (const auto& [status, names] : errors) {
      auto& d = o["responses"][std::to_string(status)];
      d = {{"description", "{\"ok\":false,\"error\":{\"code\",\"message\"}} with code " + names}};
    }
    paths[std::string("/sjs/v1/") + op.op]["post"] = o;
  }
  return {
      {"openapi", "3.0.3"},
      {"info",
       {{"title", "sjs HTTP API"},
        {"version", SJS_VERSION},
        {"description",
         "spark-jobserver's REST API, wire-compatible, plus sjs's own API (/sjs/v1) and extensions. "
         "See docs/http-api.md."}}},
      {"tags",
       {{{"name", "binaries"}},
        {{"name", "contexts"}},
        {{"name", "jobs"}},
        {{"name", "pipelines"}, {"description", "step pipelines: predefined steps of a step library, no code sent"}},
        {{"name", "clusters"}, {"description", "partition servers: clusters of servers over a data set's partitions"}},
        {{"name", "data"}},
        {{"name", "daemon"}},
        {{"name", "sjs"}, {"description", "sjs's own API: the client protocol's ops over HTTP (sjs --url)"}}}},
      {"paths", paths},
      {"components",
       {{"securitySchemes",
         {{"basic", {{"type", "http"}, {"scheme", "basic"}}},
          {"bearer", {{"type", "http"}, {"scheme", "bearer"}, {"description", "sjs user token NAME"}}}}}}},
  };
}

}  // namespace

const nlohmann::json& openapi_document() {
  static const nlohmann::json k_doc = build();
  return k_doc;
}

void serve_openapi(const HttpRequest&, HttpResponder& responder) {
  static const std::string k_text = openapi_document().dump(2);
  HttpResponse r;
  r.status = 200;
  r.body = k_text;
  responder.send(std::move(r));
}

}  // namespace sjs

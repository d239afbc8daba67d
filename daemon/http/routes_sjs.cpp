// spark-jobserver's REST API (../shared/reference/spark-jobserver-api.md), documented
// in docs/http-api.md. Every route translates one request into service-layer calls
// and the answer into spark-jobserver's shapes; no operation is implemented here.
//
// Shapes (names from the reference):
//   E1 {"status":"ERROR","result":"<message>"}
//   E2 {"status":"<LABEL>","result":{"message","errorClass","stack"}}
//   S  {"status":"SUCCESS"[,"result":"<message>"]}
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <map>
#include <optional>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "http/callbacks.hpp"
#include "http/routes.hpp"
#include "service.hpp"
#include "sjs/config.hpp"
#include "sjs/errors.hpp"
#include "sjs/runtimes.hpp"
#include "sjs/hocon.hpp"
#include "sjs/messages.hpp"
#include "sjs/paths.hpp"
#include "sjs/util.hpp"

namespace sjs {
namespace {

using json = nlohmann::json;
using Res = std::shared_ptr<HttpResponder>;

// ---- shapes ---------------------------------------------------------------------

HttpResponse json_response(int status, const json& body) {
  // Messages may quote client input (a Content-Type, a name): never fail on bad UTF-8.
  return HttpResponse{status, "application/json", body.dump(-1, ' ', false, json::error_handler_t::replace), {}};
}

HttpResponse e1(int status, const std::string& message) {
  return json_response(status, json{{"status", "ERROR"}, {"result", message}});
}

HttpResponse e2(int status, const std::string& label, const json& error) {
  return json_response(status, json{{"status", label}, {"result", error}});
}

HttpResponse success(int status, const std::string& message = "") {
  json body = {{"status", "SUCCESS"}};
  if (!message.empty()) body["result"] = message;
  return json_response(status, body);
}

// A service error in spark-jobserver's shape: E1 with the error table's status;
// an internal failure is 500 E2 "ERROR"; a queue bound is 503 NO SLOTS AVAILABLE.
HttpResponse from_error(const Error& e) {
  if (e.code() == ErrorCode::internal) return e2(500, "ERROR", job_error(e.what(), "sjs.InternalError"));
  if (e.code() == ErrorCode::busy) {
    return json_response(503, json{{"status", "NO SLOTS AVAILABLE"}, {"result", e.what()}});
  }
  return e1(error_info(e.code()).http_status, e.what());
}

// ---- request helpers ------------------------------------------------------------

std::string trim_ws(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const auto comma = s.find(',', start);
    std::string item = trim_ws(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// A config value that lists names: a list of strings, or one comma-separated string.
std::vector<std::string> config_list(const json& config, const char* key) {
  if (!config.is_object() || !config.contains(key)) return {};
  const json& v = config.at(key);
  if (v.is_string()) return split_list(v.get<std::string>());
  std::vector<std::string> out;
  if (v.is_array()) {
    for (const auto& item : v) {
      if (item.is_string() && !trim_ws(item.get<std::string>()).empty()) out.push_back(trim_ws(item.get<std::string>()));
    }
  }
  return out;
}

// "true"/"false" (any case); nullopt for anything else.
std::optional<bool> parse_bool(const std::string& v) {
  const std::string l = ascii_lower(v);
  if (l == "true" || l == "1" || l == "yes" || l == "on") return true;
  if (l == "false" || l == "0" || l == "no" || l == "off") return false;
  return std::nullopt;
}

std::optional<double> parse_seconds(const std::string& v) {
  if (v.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double d = std::strtod(v.c_str(), &end);
  if (errno || *end || !(d >= 0) || d > 1e9) return std::nullopt;
  return d;
}

std::optional<long> parse_int(const std::string& v) {
  if (v.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const long n = std::strtol(v.c_str(), &end, 10);
  if (errno || *end) return std::nullopt;
  return n;
}

// A job or context config: HOCON, JSON, or form-encoded `k=v&k2=v2` (python-sjsclient
// sends dicts that way). Throws Error(bad_request) with the parser's message.
json parse_body_config(const std::string& body, const std::string& origin) {
  if (trim_ws(body).empty()) return json::object();
  if (looks_form_encoded(body)) {
    try {
      return parse_form_config(body);
    } catch (const HoconError& e) {
      throw Error(ErrorCode::bad_request, origin + " (form-encoded): " + e.what());
    }
  }
  return parse_config_text(body, origin);
}

// A query parameter's value typed like a HOCON unquoted value: 2 and 1.5 are numbers,
// true/false booleans, anything else ("512m", "local[4]") stays a string.
json typed_value(const std::string& v) {
  if (v == "true") return true;
  if (v == "false") return false;
  if (auto n = parse_int(v)) return *n;
  if (v.find_first_not_of("0123456789.-+eE") == std::string::npos) {
    if (auto d = parse_seconds(v)) return *d;
  }
  return v;
}

// Sets `value` at a dotted path ("spark.executor.memory"), making objects on the way.
void set_dotted(json& root, const std::string& key, const json& value) {
  json* node = &root;
  std::size_t start = 0;
  for (;;) {
    const auto dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (dot == std::string::npos) {
      (*node)[part] = value;
      return;
    }
    json& next = (*node)[part];
    if (!next.is_object()) next = json::object();
    node = &next;
    start = dot + 1;
  }
}

// ---- reports --------------------------------------------------------------------

// spark-jobserver's job states: sjs's QUEUED shows as RUNNING (its clients know
// RUNNING, and poll until FINISHED); the real state is in the extra "sjsState" field.
std::string api_job_state(const std::string& state) {
  return state == job_state::k_queued ? std::string(job_state::k_running) : state;
}

// Scala's `millis / 1000.0 + " secs"`: "6.341 secs", "1.0 secs", "0.012 secs".
std::string secs(std::int64_t ms) {
  if (ms < 0) ms = 0;
  std::string frac = std::to_string(1000 + ms % 1000).substr(1);
  while (frac.size() > 1 && frac.back() == '0') frac.pop_back();
  return std::to_string(ms / 1000) + "." + frac + " secs";
}

// The job_error(message, class) of sjs/messages.hpp, beside this overload for a job.
using sjs::job_error;

json job_error(const JobInfo& j) {
  if (j.error.is_object()) return j.error;
  if (j.state == job_state::k_killed) return job_error("Job " + j.id + " killed", "sjs.JobKilled");
  return job_error("job " + j.id + " ended " + j.state, "sjs.Error");
}

std::map<std::string, std::string> context_ids(const Service& s) {
  std::map<std::string, std::string> ids;
  for (const auto& c : s.list_contexts().contexts) ids[c.name] = c.id;
  return ids;
}

// The job report (GET /jobs, GET /jobs/<id>, the 202 of POST /jobs). `started`:
// the 202 reply of a submission, whose status is STARTED.
json job_report(const JobInfo& j, const std::map<std::string, std::string>& ids, bool started = false) {
  const std::int64_t start = j.started_ms ? j.started_ms : j.submitted_ms;
  const auto id = ids.find(j.context);
  json r = {{"jobId", j.id},
            {"startTime", format_local(start)},
            {"classPath", j.entry},
            {"context", j.context.empty() ? "<<ad-hoc>>" : j.context},
            {"contextId", id == ids.end() ? "" : id->second},
            {"duration", is_final_job_state(j.state) ? secs(j.ended_ms - start) : "Job not done yet"}};
  if (started) {
    r["status"] = "STARTED";
  } else {
    r["status"] = api_job_state(j.state);
    if (j.state == job_state::k_error || j.state == job_state::k_killed) r["result"] = job_error(j);
  }
  r["sjsState"] = j.state;
  return r;
}

// spark-jobserver's context states: STARTING shows as STARTED, STOPPED as FINISHED.
std::string api_context_state(const std::string& state) {
  if (state == context_state::k_starting) return "STARTED";
  if (state == context_state::k_stopped) return "FINISHED";
  return state;
}

json context_report(const ContextInfo& c) {
  return json{{"id", c.id},
              {"name", c.name},
              {"startTime", format_utc(c.started_ms ? c.started_ms : c.created_ms)},
              {"endTime", c.stopped_ms ? format_utc(c.stopped_ms) : "Empty"},
              {"state", api_context_state(c.state)},
              {"runtime", c.runtime}};
}

// binary-type: spark-jobserver's "Jar" for jars; sjs's other types by their own names.
std::string binary_type_label(const std::string& type) { return http_binary_label(type); }

// What a POST /binaries Content-Type uploads.
struct UploadKind {
  std::string type;       // sjs's binary type
  std::string extension;  // for the service's type check (".egg", ".whl", ...)
  bool zip = false;       // must be a zip archive (spark-jobserver's check)
};

std::optional<UploadKind> upload_kind(const std::string& content_type) {
  // The runtime table's Content-Types of each binary type (docs/http-api.md).
  if (auto k = http_upload_kind(content_type)) return UploadKind{k->type, k->extension, k->zip};
  return std::nullopt;
}

// ---- the router's helpers -------------------------------------------------------

// Runs `fn` inside a service callback: an exception must not escape into the service.
template <typename Fn>
void guarded(const Res& res, Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    res->send(from_error(e));
  } catch (const std::exception& e) {
    res->send(e2(500, "ERROR", job_error(e.what(), "sjs.InternalError")));
  }
}

struct Call {
  Service& s;
  const HttpRequest& req;
  const Res& res;

  void send(HttpResponse r) const { res->send(std::move(r)); }

  // 403 unless the user holds `permission` (always granted with auth off).
  bool permitted(const std::string& permission) const {
    if (req.allowed(permission)) return true;
    send(e1(403, "Permission denied: this needs the " + permission + " permission"));
    return false;
  }

  void method_not_allowed(const std::string& allowed) const {
    HttpResponse r = e1(405, "method " + req.method + " is not allowed on " + req.path + " (allowed: " + allowed + ")");
    r.headers.emplace_back("Allow", allowed);
    send(std::move(r));
  }
};

// Path segments that name things: no '/', NUL, "." or "..".
std::string bad_segment(const std::vector<std::string>& segments, std::size_t from) {
  for (std::size_t i = from; i < segments.size(); ++i) {
    const std::string& s = segments[i];
    if (s == "." || s == "..") return "a name may not be \".\" or \"..\"";
    if (s.find('/') != std::string::npos) return "a name may not contain '/' (\"" + s.substr(0, 200) + "\")";
    if (s.find('\0') != std::string::npos) return "a name may not contain a NUL byte";
  }
  return "";
}

// The first bytes of an upload.
std::string head_of(const HttpRequest& req, std::size_t n) {
  if (req.body_file.empty()) return req.body.substr(0, n);
  std::string head(n, '\0');
  int fd = ::open(req.body_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  ssize_t got = ::read(fd, head.data(), n);
  ::close(fd);
  head.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
  return head;
}

bool is_zip(const std::string& head) { return head.size() >= 4 && head.compare(0, 4, "PK\x03\x04", 4) == 0; }

// The upload as a file the service may move in: the streamed body file, or the
// in-memory body written out (then `*temp` is true and the caller owns it).
std::string upload_file(const Service& s, const HttpRequest& req, bool* temp) {
  *temp = false;
  if (!req.body_file.empty()) return req.body_file;
  const std::string dir = s.data_dir() + "/uploads";
  make_dirs(dir, 0700);
  const std::string path = dir + "/http-" + make_uuid();
  write_file_atomic(path, req.body, 0600);
  *temp = true;
  return path;
}

// ---- /binaries and /jars ----------------------------------------------------------

void list_binaries(const Call& c, bool legacy_jars) {
  json out = json::object();
  for (const auto& b : c.s.list_binaries().binaries) {
    if (legacy_jars) {
      if (b.type == http_jars_type()) out[b.name] = format_utc(b.uploaded_ms);
    } else {
      out[b.name] = json{{"binary-type", binary_type_label(b.type)}, {"upload-time", format_utc(b.uploaded_ms)}};
    }
  }
  c.send(json_response(200, out));
}

void show_binary(const Call& c, const std::string& name) {
  try {
    const auto versions = c.s.show_binary(name).versions;
    const BinaryInfo& b = versions.back();
    c.send(json_response(200, json{{"app-name", b.name},
                                   {"binary-type", binary_type_label(b.type)},
                                   {"upload-time", format_utc(b.uploaded_ms)},
                                   {"version", b.version}}));
  } catch (const Error& e) {
    if (e.code() != ErrorCode::not_found) throw;
    c.send(e1(404, "Can't find binary with name " + name));
  }
}

// POST /binaries/<name> (by Content-Type) and the legacy POST /jars/<name> (always a jar).
void upload_binary(const Call& c, const std::string& name, bool legacy_jar) {
  check_name("binary", name);
  std::optional<UploadKind> kind = legacy_jar ? UploadKind{http_jars_upload().type, http_jars_upload().extension, true} : upload_kind(c.req.header("content-type"));
  if (!kind) {
    const std::string ct = c.req.header("content-type");
    c.send(e1(415, "Unsupported binary type " + (ct.empty() ? std::string("(no Content-Type)") : ct.substr(0, 200))));
    return;
  }
  const std::string wrong_format = legacy_jar ? "Jar is not of the right format" : "Binary is not of the right format";
  if (kind->zip && !is_zip(head_of(c.req, 4))) {
    c.send(e1(400, wrong_format));
    return;
  }
  bool temp = false;
  const std::string path = upload_file(c.s, c.req, &temp);
  BinaryUploadArgs args{name, path, kind->type, name + kind->extension};
  const Res res = c.res;
  const bool zip = kind->zip;
  auto cleanup = [path, temp] {
    if (temp) ::unlink(path.c_str());
  };
  try {
    c.s.upload_binary(args, true,
                      Reply<BinaryInfo>{[res, legacy_jar](BinaryInfo) {
                                          res->send(legacy_jar ? success(200, "Jar uploaded") : success(201));
                                        },
                                        [res, zip, wrong_format, cleanup](const Error& e) {
                                          cleanup();
                                          if (e.code() == ErrorCode::internal) {
                                            res->send(e2(500, "Storage Failure",
                                                         job_error(e.what(), "sjs.StorageFailure")));
                                          } else if (e.code() == ErrorCode::bad_request && zip) {
                                            res->send(e1(400, wrong_format + ": " + e.what()));
                                          } else {
                                            res->send(from_error(e));
                                          }
                                        }});
  } catch (...) {
    cleanup();
    throw;
  }
}

void delete_binary(const Call& c, const std::string& name) {
  const Res res = c.res;
  auto fail = [res, name](const Error& e) {
    if (e.code() == ErrorCode::not_found) return res->send(e1(404, "can't find binary with name " + name));
    if (e.code() == ErrorCode::in_use) {
      // The service names the jobs: "... is in use by job(s): <ids> (wait ...)".
      std::string msg = e.what();
      const std::string marker = "job(s): ";
      auto at = msg.find(marker);
      std::string ids = at == std::string::npos ? msg : msg.substr(at + marker.size());
      ids = ids.substr(0, ids.find(" ("));
      return res->send(e1(403, "Binary is in use by job(s): " + ids));
    }
    res->send(from_error(e));
  };
  try {
    c.s.delete_binary(BinaryDeleteArgs{name, 0}, Reply<json>{[res](json) { res->send(success(200)); }, fail});
  } catch (const Error& e) {
    fail(e);
  }
}

void route_binaries(const Call& c, bool legacy_jars) {
  const auto& seg = c.req.segments;
  const std::string& m = c.req.method;
  if (seg.size() == 1) {
    if (m != "GET") return c.method_not_allowed("GET");
    if (c.permitted("binaries:read")) list_binaries(c, legacy_jars);
    return;
  }
  const std::string& name = seg[1];
  if (m == "GET" && !legacy_jars) {
    if (c.permitted("binaries:read")) show_binary(c, name);
  } else if (m == "POST" || (m == "PUT" && legacy_jars)) {
    if (c.permitted("binaries:upload")) upload_binary(c, name, legacy_jars);
  } else if (m == "DELETE" && !legacy_jars) {
    if (c.permitted("binaries:delete")) delete_binary(c, name);
  } else {
    c.method_not_allowed(legacy_jars ? "POST" : "GET, POST, DELETE");
  }
}

// ---- /contexts --------------------------------------------------------------------

// The context's runtime: the `runtime` setting, else the runtime table's pick for `context-factory`, else
// a jar's default runtime.
std::string context_runtime(const Service& s, json& settings) {
  std::string runtime;
  if (settings.contains("runtime")) {
    runtime = settings["runtime"].is_string() ? settings["runtime"].get<std::string>() : settings["runtime"].dump();
    settings.erase("runtime");
  }
  if (!runtime.empty()) return ascii_lower(runtime);
  if (settings.contains("context-factory") && settings["context-factory"].is_string()) {
    if (const RuntimeSpec* r = runtime_for_context_factory(settings["context-factory"].get<std::string>())) return r->name;
  }
  return default_runtime_for(http_jars_type(), s.config().launch);
}

void create_context(const Call& c, const std::string& name) {
  if (!std::isalpha(static_cast<unsigned char>(name[0]))) return c.send(e1(400, "context name must start with letters"));
  check_name("context", name);
  json body;
  try {
    body = parse_body_config(c.req.body, "context config");
  } catch (const Error& e) {
    return c.send(e1(400, std::string("Cannot parse config: ") + e.what()));
  }
  // Query parameters, then the body's spark.context-settings block over them.
  json settings = json::object();
  for (const auto& [k, v] : c.req.query) {
    if (k == "_method" || k.empty() || k.front() == '.' || k.back() == '.' || k.find("..") != std::string::npos) continue;
    set_dotted(settings, k, typed_value(v));
  }
  if (body.contains("spark") && body["spark"].is_object() && body["spark"].contains("context-settings")) {
    const json& block = body["spark"]["context-settings"];
    if (!block.is_object()) return c.send(e1(400, "Cannot parse config: spark.context-settings must be an object"));
    merge_config(settings, block);
  }
  ContextCreateArgs args;
  args.name = name;
  args.runtime = context_runtime(c.s, settings);
  for (const char* key : {"max-jobs-per-context", "max-jobs"}) {
    if (!settings.contains(key)) continue;
    const json& v = settings[key];
    std::optional<long> n = v.is_number_integer() ? std::optional<long>(v.get<long>())
                                                  : v.is_string() ? parse_int(v.get<std::string>()) : std::nullopt;
    if (!n || *n < 1 || *n > 100000) return c.send(e1(400, std::string(key) + " must be a whole number >= 1"));
    args.max_jobs = static_cast<int>(*n);
    settings.erase(key);
  }
  args.settings = settings;
  const Res res = c.res;
  try {
    c.s.create_context(args, Reply<ContextInfo>{[res](ContextInfo) { res->send(success(200, "Context initialized")); },
                                                [res](const Error& e) {
                                                  if (e.code() == ErrorCode::internal) {
                                                    res->send(e2(500, "CONTEXT INIT ERROR",
                                                                 job_error(e.what(), "sjs.ContextInitError")));
                                                  } else {
                                                    res->send(from_error(e));
                                                  }
                                                }});
  } catch (const Error& e) {
    if (e.code() == ErrorCode::already_exists) return c.send(e1(400, "context " + name + " exists"));
    throw;
  }
}

// Stops the context and ends its running and queued jobs (spark-jobserver's stop
// does that with or without ?force=true); answered once it has stopped.
void delete_context(const Call& c, const std::string& name) {
  const Res res = c.res;
  auto fail = [res, name](const Error& e) {
    if (e.code() == ErrorCode::not_found) return res->send(e1(404, "context " + name + " not found"));
    if (e.code() == ErrorCode::in_use) {
      // Already stopping (another DELETE): the stop is in progress.
      HttpResponse r = success(202, "Context stop in progress");
      r.headers.emplace_back("Location", "/contexts/" + name);
      return res->send(std::move(r));
    }
    res->send(from_error(e));
  };
  if (c.req.has_query("force") && !parse_bool(c.req.query_value("force"))) {
    return c.send(e1(400, "invalid value for force: \"" + c.req.query_value("force").substr(0, 100) + "\" (true or false)"));
  }
  try {
    c.s.delete_context(ContextDeleteArgs{name, true},
                       Reply<ContextInfo>{[res](ContextInfo) { res->send(success(200, "Context stopped")); }, fail});
  } catch (const Error& e) {
    fail(e);
  }
}

// PUT /contexts?reset=reboot: every context stops (running jobs end KILLED) and the
// named ones, sjs's configured contexts, start again; ad-hoc contexts end with their jobs.
void reset_contexts(const Call& c) {
  const std::string reset = c.req.query_value("reset");
  if (reset != "reboot") {
    return c.send(e1(400, "PUT /contexts needs reset=reboot" + (reset.empty() ? std::string() : ", not \"" + reset.substr(0, 100) + "\"")));
  }
  std::optional<bool> sync = c.req.has_query("sync") ? parse_bool(c.req.query_value("sync")) : std::optional<bool>(true);
  if (!sync) return c.send(e1(400, "invalid value for sync: \"" + c.req.query_value("sync").substr(0, 100) + "\" (true or false)"));

  // Counts the restarts and kills under way; answers when the last one is done.
  struct Pending {
    int left = 1;
    bool wait = true;
    Res res;
    std::vector<std::string> failures;
  };
  auto pending = std::make_shared<Pending>();
  pending->wait = *sync;
  pending->res = c.res;
  const auto done = [](const std::shared_ptr<Pending>& p) {
    if (--p->left > 0 || !p->wait) return;
    if (p->failures.empty()) return p->res->send(success(200, "Context reset"));
    std::string msg = "Context reset failed: ";
    for (std::size_t i = 0; i < p->failures.size(); ++i) msg += (i ? "; " : "") + p->failures[i];
    p->res->send(e1(500, msg));
  };
  auto failed = [pending, done](const Error& e) {
    pending->failures.push_back(e.what());
    done(pending);
  };
  std::vector<std::string> adhoc;
  for (const auto& ctx : c.s.list_contexts().contexts) {
    if (ctx.adhoc) {
      adhoc.push_back(ctx.name);
      continue;
    }
    ++pending->left;
    try {
      c.s.restart_context(ctx.name, Reply<ContextInfo>{[pending, done](ContextInfo) { done(pending); }, failed});
    } catch (const Error& e) {
      if (e.code() == ErrorCode::in_use) done(pending);  // already stopping or restarting
      else failed(e);
    }
  }
  if (!adhoc.empty()) {
    JobListArgs running;
    running.limit = 100000;
    running.state = job_state::k_running;
    for (const auto& job : c.s.list_jobs(running).jobs) {
      if (!job.adhoc || std::find(adhoc.begin(), adhoc.end(), job.context) == adhoc.end()) continue;
      ++pending->left;
      try {
        c.s.kill_job(job.id, Reply<JobResult>{[pending, done](JobResult) { done(pending); }, failed});
      } catch (const Error&) {
        done(pending);  // it ended meanwhile
      }
    }
  }
  if (!pending->wait) c.send(success(200, "Context reset requested"));
  done(pending);
}

void route_contexts(const Call& c) {
  const auto& seg = c.req.segments;
  const std::string& m = c.req.method;
  if (seg.size() == 1) {
    if (m == "GET") {
      if (!c.permitted("contexts:read")) return;
      json names = json::array();
      for (const auto& ctx : c.s.list_contexts().contexts) names.push_back(ctx.name);
      return c.send(json_response(200, names));
    }
    if (m == "PUT") {
      if (c.permitted("contexts:reset")) reset_contexts(c);
      return;
    }
    return c.method_not_allowed("GET, PUT");
  }
  const std::string& name = seg[1];
  if (m == "GET") {
    if (!c.permitted("contexts:read")) return;
    try {
      c.send(json_response(200, context_report(c.s.show_context(name))));
    } catch (const Error& e) {
      if (e.code() != ErrorCode::not_found) throw;
      // A context that ended is still answered, as FINISHED (or ERROR).
      if (auto ended = c.s.ended_context(name)) return c.send(json_response(200, context_report(*ended)));
      c.send(e1(404, "can't find context with name " + name));
    }
  } else if (m == "POST") {
    if (c.permitted("contexts:start")) create_context(c, name);
  } else if (m == "DELETE") {
    if (c.permitted("contexts:delete")) delete_context(c, name);
  } else {
    c.method_not_allowed("GET, POST, DELETE");
  }
}

// ---- /jobs ------------------------------------------------------------------------

// The answer to a sync submission once the job has ended (or the wait expired).
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
  if (j.state == job_state::k_error && j.end_reason == "loading") {
    if (error.value("errorClass", "") == "java.lang.ClassNotFoundException") {
      return res->send(e1(404, "classPath " + j.entry + " not found"));
    }
    return res->send(e2(400, "JOB LOADING FAILED", error));
  }
  res->send(json_response(200, json{{"jobId", j.id}, {"status", j.state == job_state::k_killed ? "KILLED" : "ERROR"},
                                    {"result", error}}));
}

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
  std::vector<std::string> binaries = args.with;
  binaries.insert(binaries.begin(), args.binary);
  for (const auto& b : binaries) {
    check_name("binary", b);
    try {
      c.s.show_binary(b);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::not_found) throw;
      return c.send(e1(404, "appName " + b + " not found"));
    }
  }
  args.context = req.query_value("context");
  if (!args.context.empty()) {
    check_name("context", args.context);
    try {
      c.s.show_context(args.context);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::not_found) throw;
      return c.send(e1(404, "context " + args.context + " not found"));
    }
  }
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
    if (e.code() == ErrorCode::in_use) return c.send(e1(409, "Context stop in progress"));
    if (e.code() == ErrorCode::bad_request && starts_with(e.what(), "Invalid job type for this context")) {
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
  std::vector<std::string> states;
  if (status.empty()) {
    states.push_back("");
  } else if (status == job_state::k_running) {
    states = {job_state::k_running, job_state::k_queued};
  } else if (status == "STARTED" || status == "RESTARTING") {
    return c.send(json_response(200, json::array()));  // states sjs never stores
  } else if (is_job_state(status)) {
    states.push_back(status);
  } else {
    return c.send(e1(400, "unknown job status \"" + c.req.query_value("status").substr(0, 100) +
                              "\": use RUNNING, FINISHED, ERROR, KILLED (or QUEUED)"));
  }
  std::vector<JobInfo> jobs;
  for (const auto& state : states) {
    args.state = state;
    for (auto& j : c.s.list_jobs(args).jobs) {
      // A live job may have moved on since its state was committed.
      if (!status.empty() && api_job_state(j.state) != api_job_state(status)) continue;
      jobs.push_back(std::move(j));
    }
  }
  std::sort(jobs.begin(), jobs.end(), [](const JobInfo& a, const JobInfo& b) { return a.seq > b.seq; });
  if (jobs.size() > static_cast<std::size_t>(args.limit)) jobs.resize(static_cast<std::size_t>(args.limit));
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

// false: not a route of this family.
bool route_jobs(const Call& c) {
  const auto& seg = c.req.segments;
  const std::string& m = c.req.method;
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

// ---- /data ------------------------------------------------------------------------

void route_data(const Call& c) {
  const auto& seg = c.req.segments;
  const std::string& m = c.req.method;
  DataFiles& files = c.s.data_files();
  if (m == "DELETE" && seg.size() >= 2) {
    if (!c.permitted("data:delete")) return;
    // The file's absolute path, URL-encoded into one segment (or left as a path).
    const std::string path = c.req.path.substr(std::string("/data/").size());
    if (path.find('\0') != std::string::npos) return c.send(e1(400, "a file name may not contain a NUL byte"));
    if (!files.remove(path)) return c.send(e1(400, "Unable to delete data file '" + path.substr(0, 300) + "'."));
    return c.send(success(200, "Data file deleted"));
  }
  if (std::string why = bad_segment(seg, 1); !why.empty()) return c.send(e1(400, why));
  if (seg.size() == 1) {
    if (m == "GET") {
      if (c.permitted("data:read")) c.send(json_response(200, files.list()));
    } else if (m == "PUT") {
      if (!c.permitted("data:reset")) return;
      if (c.req.query_value("reset") != "reboot") return c.send(e1(400, "PUT /data needs reset=reboot"));
      files.remove_all();
      const auto sync = parse_bool(c.req.query_value("sync", "true"));
      c.send(success(200, sync && !*sync ? "Data reset requested" : "Data reset"));
    } else {
      c.method_not_allowed("GET, PUT");
    }
    return;
  }
  if (seg.size() == 2 && m == "POST") {
    if (!c.permitted("data:upload")) return;
    const std::string name = c.req.body_file.empty() ? files.store_bytes(seg[1], c.req.body)
                                                     : files.store_file(seg[1], c.req.body_file);
    return c.send(json_response(200, json{{"result", {{"filename", name}}}}));
  }
  if (seg.size() == 2) return c.method_not_allowed("POST, DELETE");
  c.send(e1(404, "no route for " + m + " " + c.req.path));
}

}  // namespace

// What a callbackUrl receives (spark-jobserver's shapes): {jobId, result} when the job
// finished, {jobId, status: "ERROR", result: {message, errorClass, stack}} otherwise.
json callback_body(const JobResult& r) {
  if (r.job.state == job_state::k_finished) return json{{"jobId", r.job.id}, {"result", r.result}};
  return json{{"jobId", r.job.id}, {"status", "ERROR"}, {"result", job_error(r.job)}};
}


bool route_sjs(Service& service, const HttpRequest& req, const std::shared_ptr<HttpResponder>& responder) {
  const auto& seg = req.segments;
  if (seg.empty()) return false;
  const std::string& area = seg[0];
  if (area != "binaries" && area != "jars" && area != "contexts" && area != "jobs" && area != "data" &&
      area != "healthz") {
    return false;
  }
  const Call c{service, req, responder};
  try {
    if (area == "healthz") {
      if (seg.size() != 1) return false;
      if (req.method != "GET") c.method_not_allowed("GET");
      else c.send(success(200));
      return true;
    }
    if (area == "data") {
      route_data(c);
      return true;
    }
    if (std::string why = bad_segment(seg, 1); !why.empty()) {
      c.send(e1(400, why));
      return true;
    }
    if (seg.size() > 2 && area != "jobs") return false;
    if (area == "binaries") route_binaries(c, false);
    else if (area == "jars") route_binaries(c, true);
    else if (area == "contexts") route_contexts(c);
    else return route_jobs(c);
  } catch (const Error& e) {
    c.send(from_error(e));
  } catch (const std::exception& e) {
    spdlog::error("http {} {}: {}", req.method, req.path, e.what());
    c.send(e2(500, "ERROR", job_error(e.what(), "sjs.InternalError")));
  }
  return true;
}

}  // namespace sjs

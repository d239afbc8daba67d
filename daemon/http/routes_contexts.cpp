// spark-jobserver's /contexts routes (docs/http-api.md).
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
#include "sjs/runtimes.hpp"
#include "sjs/util.hpp"

namespace sjs::jobserver {

namespace {

// ---- /contexts --------------------------------------------------------------------

// The context's runtime: the `runtime` setting, else the runtime table's pick for `context-factory`,
// else a jar's default runtime.
std::string context_runtime(const Service& s, json& settings) {
  std::string runtime;
  if (settings.contains("runtime")) {
    runtime = settings["runtime"].is_string() ? settings["runtime"].get<std::string>() : settings["runtime"].dump();
    settings.erase("runtime");
  }
  if (!runtime.empty()) return ascii_lower(runtime);
  if (settings.contains("context-factory") && settings["context-factory"].is_string()) {
    const std::string r = runtime_for_context_factory(settings["context-factory"].get<std::string>(), s.config().launch);
    if (!r.empty()) return r;
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
    apply_raw_setting(settings, k, v);
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

  const Res res = c.res;
  const bool wait = *sync;
  if (!wait) c.send(success(200, "Context reset requested"));
  c.s.reset_contexts(Reply<std::vector<std::string>>{
      [res, wait](std::vector<std::string> failures) {
        if (!wait) return;
        if (failures.empty()) return res->send(success(200, "Context reset"));
        std::string msg = "Context reset failed: ";
        for (std::size_t i = 0; i < failures.size(); ++i) msg += (i ? "; " : "") + failures[i];
        res->send(e1(500, msg));
      },
      [res, wait](const Error& e) {
        if (wait) res->send(from_error(e));
      }});
}

}  // namespace

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

}  // namespace sjs::jobserver

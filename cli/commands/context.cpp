// sjs context create|list|show|delete|restart. Daemon side: daemon/handlers/context.cpp.
#include <algorithm>
#include <iostream>

#include "cli.hpp"
#include "sjs/config.hpp"
#include "sjs/runtimes.hpp"
#include "sjs/util.hpp"

namespace sjs::cli {
namespace {

void print_context(Context& ctx, const ContextInfo& c) {
  if (ctx.globals.json) return print_json(c);
  print_table({{"name:", c.name},
               {"runtime:", c.runtime},
               {"state:", c.state + (c.error.empty() ? "" : " (" + c.error + ")")},
               {"slots:", std::to_string(c.max_jobs)},
               {"running:", std::to_string(c.running)},
               {"queued:", std::to_string(c.queued)},
               {"started:", human_time(c.started_ms)},
               {"settings:", redact_secrets(c.settings).dump()}});
}

}  // namespace

void add_context_commands(CLI::App& app, Context& ctx) {
  auto* c = app.add_subcommand("context", "Create and manage long-running contexts");
  c->require_subcommand(1);

  struct CreateOpts {
    std::string name, runtime;
    std::vector<std::string> set;
    int max_jobs = 0;
  };
  auto co = std::make_shared<CreateOpts>();
  auto* cr = c->add_subcommand("create", "Create a context and start it");
  cr->add_option("NAME", co->name, "Context name (starts with a letter)")->required();
  // The runtimes of the runtime table (sjs/runtimes.hpp); the docs check parses "one of: ...".
  const std::vector<std::string> runtimes = runtime_names();
  cr->add_option("--runtime", co->runtime,
                 "Runtime, one of: " + list_words(runtimes, "") + " (default: " + default_context_runtime().name +
                     "); its settings: docs/runtimes.md")
      ->check(CLI::Validator(
          [runtimes](std::string& v) -> std::string {
            if (std::find(runtimes.begin(), runtimes.end(), v) != runtimes.end()) return "";
            return "unknown runtime \"" + v + "\": use " + list_words(runtimes);
          },
          ""));
  cr->add_option("--set", co->set, "Setting key=value (repeatable), e.g. --set env.FOO=bar --set max-queue=100")
      ->allow_extra_args(false);  // one value per flag: the words after it are positionals
  cr->add_option("--max-jobs", co->max_jobs, "Jobs that run at once (slots); more wait in its queue")
      ->check(CLI::PositiveNumber);
  cr->callback([&ctx, co] {
    ContextCreateArgs a;
    a.name = co->name;
    a.runtime = co->runtime;
    a.max_jobs = co->max_jobs;
    for (const auto& kv : co->set) apply_conf_pair(a.settings, kv, "--set");
    auto r = ctx.client().call(op::k_context_create, a).get<ContextInfo>();
    if (ctx.globals.json) return print_json(r);
    info(ctx, "context " + r.name + " is " + r.state + " (" + r.runtime + ", " + std::to_string(r.max_jobs) + " slots)");
  });

  auto* l = c->add_subcommand("list", "List contexts");
  l->callback([&ctx] {
    auto r = ctx.client().call(op::k_context_list, nlohmann::json::object()).get<ContextListResult>();
    if (ctx.globals.json) return print_json(r);
    std::vector<std::vector<std::string>> rows = {{"NAME", "RUNTIME", "STATE", "SLOTS", "RUNNING", "QUEUED", "STARTED"}};
    for (const auto& x : r.contexts) {
      rows.push_back({x.name + (x.adhoc ? " (ad-hoc)" : ""), x.runtime, x.state, std::to_string(x.max_jobs),
                      std::to_string(x.running), std::to_string(x.queued), human_time(x.started_ms)});
    }
    print_table(rows);
  });

  auto show = std::make_shared<std::string>();
  auto* s = c->add_subcommand("show", "Show a context");
  s->add_option("NAME", *show, "Context name")->required();
  s->callback([&ctx, show] { print_context(ctx, ctx.client().call(op::k_context_show, NameArgs{*show}).get<ContextInfo>()); });

  auto del = std::make_shared<ContextDeleteArgs>();
  auto* d = c->add_subcommand("delete", "Stop and delete a context");
  d->add_option("NAME", del->name, "Context name")->required();
  d->add_flag("--force", del->force, "Kill its running and queued jobs instead of refusing");
  d->callback([&ctx, del] {
    auto r = ctx.client().call(op::k_context_delete, *del).get<ContextInfo>();
    if (ctx.globals.json) return print_json(r);
    info(ctx, "context " + r.name + " deleted");
  });

  auto objs = std::make_shared<std::string>();
  auto* o = c->add_subcommand("objects", "List the named objects a " +
                                             list_words(runtimes_with(runtime_cap::k_named_objects)) +
                                             " context holds");
  o->add_option("NAME", *objs, "Context name")->required();
  o->callback([&ctx, objs] {
    auto r = ctx.client().call(op::k_context_objects, NameArgs{*objs});
    if (ctx.globals.json) return print_json(r);
    for (const auto& n : r.value("objects", nlohmann::json::array())) std::cout << n.get<std::string>() << "\n";
  });

  auto rs = std::make_shared<std::string>();
  auto* r = c->add_subcommand("restart", "Restart a context (its running jobs are killed; queued ones wait)");
  r->add_option("NAME", *rs, "Context name")->required();
  r->callback([&ctx, rs] {
    auto x = ctx.client().call(op::k_context_restart, NameArgs{*rs}).get<ContextInfo>();
    if (ctx.globals.json) return print_json(x);
    info(ctx, "context " + x.name + " restarted: " + x.state);
  });
}

}  // namespace sjs::cli

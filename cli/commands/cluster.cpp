// sjs cluster list|show|wait|stop|result: partition-server clusters (docs/partition-servers.md).
// Daemon side: daemon/handlers/cluster.cpp.
#include <iostream>

#include "cli.hpp"
#include "sjs/cluster_messages.hpp"
#include "sjs/errors.hpp"

namespace sjs::cli {
namespace {

std::string since(std::int64_t ms) { return ms ? human_time(ms) : "-"; }

void print_cluster(const ClusterInfo& c) {
  std::vector<std::vector<std::string>> rows = {
      {"name", c.name},
      {"state", c.state + (c.error.empty() ? "" : " (" + c.error + ")")},
      {"since", since(c.since_ms)},
      {"partitions", std::to_string(c.registered) + "/" + std::to_string(c.partitions) + " registered"},
      {"job", c.job},
      {"context", c.context + " (" + c.runtime + ")"},
      {"created", since(c.created_ms)},
  };
  if (c.ended_ms) rows.push_back({"ended", since(c.ended_ms)});
  if (c.result_count) {
    rows.push_back({"results", std::to_string(c.result_count) + (c.results_kept ? " (sjs cluster result " + c.name + ")"
                                                                                : " (too large to keep: named object "
                                                                                  "cluster:" + c.name + " in the context)")});
  }
  for (const auto& r : rows) std::cout << r[0] << std::string(r[0].size() < 12 ? 12 - r[0].size() : 1, ' ') << r[1] << "\n";
  std::cout << "\n";
  std::vector<std::vector<std::string>> servers = {{"PARTITION", "ADDRESS", "STATE", "SINCE", "ERROR"}};
  for (const auto& s : c.servers) {
    servers.push_back({std::to_string(s.partition), s.registrations ? s.host + ":" + std::to_string(s.port) : "-", s.state,
                       since(s.since_ms), s.error.empty() ? "" : s.error.substr(0, 120)});
  }
  print_table(servers);
}

// The exit code of a cluster that should be READY (wait) or ended (stop).
int cluster_exit_code(const ClusterInfo& c, bool timed_out) {
  if (timed_out) return exit_code::k_wait_timeout;
  if (c.state == cluster_state::k_failed) return exit_code::k_job_failed;
  return exit_code::k_ok;
}

}  // namespace

void add_cluster_commands(CLI::App& app, Context& ctx) {
  auto* cl = app.add_subcommand("cluster", "Partition-server clusters: list, show, wait, stop, result");
  cl->require_subcommand(1);

  auto* l = cl->add_subcommand("list", "List clusters, newest first (live and ended)");
  l->callback([&ctx] {
    auto r = ctx.client().call(op::k_cluster_list, nlohmann::json::object()).get<ClusterListResult>();
    if (ctx.globals.json) return print_json(r);
    std::vector<std::vector<std::string>> rows = {{"NAME", "STATE", "PARTITIONS", "JOB", "CONTEXT", "SINCE"}};
    for (const auto& c : r.clusters) {
      rows.push_back({c.name, c.state, std::to_string(c.registered) + "/" + std::to_string(c.partitions), c.job,
                      c.context, since(c.since_ms)});
    }
    print_table(rows);
  });

  auto show_name = std::make_shared<std::string>();
  auto* s = cl->add_subcommand("show", "A cluster's state and each partition's address, state and since");
  s->add_option("NAME", *show_name, "Cluster name")->required();
  s->callback([&ctx, show_name] {
    auto c = ctx.client().call(op::k_cluster_show, NameArgs{*show_name}).get<ClusterInfo>();
    if (ctx.globals.json) return print_json(c);
    print_cluster(c);
  });

  auto wait = std::make_shared<ClusterWaitArgs>();
  auto* w = cl->add_subcommand("wait", "Wait until a cluster is READY (exit 0); 6 on timeout, 1 if it failed, 4 if it stopped first");
  w->add_option("NAME", wait->name, "Cluster name")->required();
  w->add_option("--timeout", wait->timeout_s, "Stop waiting after SECONDS (exit 6)")->check(CLI::NonNegativeNumber);
  w->callback([&ctx, wait] {
    auto r = ctx.client().call(op::k_cluster_wait, *wait).get<ClusterWaitResult>();
    const ClusterInfo& c = r.cluster;
    if (r.timed_out) ctx.exit_code = exit_code::k_wait_timeout;
    else if (c.state == cluster_state::k_ready) ctx.exit_code = exit_code::k_ok;
    else if (c.state == cluster_state::k_failed) ctx.exit_code = exit_code::k_job_failed;
    else ctx.exit_code = exit_code::k_job_killed;  // STOPPED before it was ever READY
    if (ctx.globals.json) return print_json(r);
    if (r.timed_out) {
      std::cerr << "cluster " << c.name << " is still " << c.state << " (" << c.registered << "/" << c.partitions
                << " registered) after " << wait->timeout_s << " s\n";
    } else if (ctx.exit_code == 0) {
      info(ctx, "cluster " + c.name + " is READY: " + std::to_string(c.partitions) + " partitions");
    } else {
      std::cerr << "cluster " << c.name << " ended " << c.state
                << (c.error.empty() ? "" : ": " + c.error) << "\n";
    }
  });

  auto stop = std::make_shared<ClusterWaitArgs>();
  auto* st = cl->add_subcommand("stop", "Stop a cluster (every server's shutdown route), wait, print its results");
  st->add_option("NAME", stop->name, "Cluster name")->required();
  st->add_option("--timeout", stop->timeout_s, "Stop waiting after SECONDS (exit 6; it goes on stopping)")
      ->check(CLI::NonNegativeNumber);
  st->callback([&ctx, stop] {
    auto r = ctx.client().call(op::k_cluster_stop, *stop).get<ClusterWaitResult>();
    ctx.exit_code = cluster_exit_code(r.cluster, r.timed_out);
    if (r.timed_out) {
      if (ctx.globals.json) return print_json(r);
      std::cerr << "cluster " << r.cluster.name << " is still " << r.cluster.state << " after " << stop->timeout_s
                << " s\n";
      return;
    }
    const ClusterInfo& c = r.cluster;
    if (c.state == cluster_state::k_failed) {
      if (ctx.globals.json) return print_json(r);
      std::cerr << "cluster " << c.name << " FAILED: " << c.error << "\n";
      return;
    }
    auto res = ctx.client().call(op::k_cluster_result, NameArgs{c.name}).get<ClusterResults>();
    if (ctx.globals.json) return print_json(res);
    info(ctx, "cluster " + c.name + " STOPPED" + (c.error.empty() ? "" : " (" + c.error + ")") + ": " +
                  std::to_string(c.result_count) + " results");
    if (res.results.is_array()) {
      for (const auto& v : res.results) std::cout << v.dump() << "\n";
    }
  });

  auto result_name = std::make_shared<std::string>();
  auto* rs = cl->add_subcommand("result", "A stopped cluster's results, one JSON value per partition (exit 9 while it serves)");
  rs->add_option("NAME", *result_name, "Cluster name")->required();
  rs->callback([&ctx, result_name] {
    auto r = ctx.client().call(op::k_cluster_result, NameArgs{*result_name}).get<ClusterResults>();
    if (ctx.globals.json) return print_json(r);
    if (!r.cluster.results_kept && r.cluster.result_count > 0) {
      std::cerr << "cluster " << r.cluster.name << "'s " << r.cluster.result_count
                << " results were too large to keep with its record: the job holds them as named object cluster:"
                << r.cluster.name << "\n";
      ctx.exit_code = exit_code::k_not_found;
      return;
    }
    if (r.results.is_array()) {
      for (const auto& v : r.results) std::cout << v.dump() << "\n";
    }
  });
}

}  // namespace sjs::cli

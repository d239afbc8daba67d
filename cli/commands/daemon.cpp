// sjs daemon start|stop|status|restart. Daemon side: daemon/handlers/daemon.cpp.
// With --url, stop and status go through sjs's HTTP API; start and restart are
// refused: a remote sjsd is managed on its host.
#include <csignal>
#include <iostream>
#include <thread>

#include "cli.hpp"
#include "sjs/errors.hpp"
#include "http_transport.hpp"
#include "sjs/paths.hpp"
#include "sjs/util.hpp"

namespace sjs::cli {
namespace {

// True while `pid` runs; a zombie (exited, not yet reaped by its parent) has stopped.
bool process_running(int pid) {
  if (::kill(pid, 0) != 0) return false;
  try {
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    auto close = stat.rfind(')');
    return close == std::string::npos || close + 2 >= stat.size() || stat[close + 2] != 'Z';
  } catch (const Error&) {
    return false;
  }
}

std::unique_ptr<Client> try_connect(const Globals& g) {
  Paths p = resolve_paths(g.data_dir, g.socket);
  try {
    auto c = std::make_unique<Client>(p.socket);
    c->hello(std::string("sjs ") + SJS_VERSION);
    return c;
  } catch (const Error& e) {
    if (e.code() == ErrorCode::unavailable) return nullptr;
    throw;
  }
}

void refuse_remote(const Context& ctx, const char* command) {
  if (!ctx.remote()) return;
  throw Error(ErrorCode::usage, std::string("sjs daemon ") + command + " does not work with --url " + ctx.globals.url +
                                    ": manage a remote sjsd on its host");
}

void start(Context& ctx, const std::string& http) {
  refuse_remote(ctx, "start");
  if (auto c = try_connect(ctx.globals)) {
    auto st = c->call(op::k_daemon_status, nlohmann::json::object()).get<DaemonStatusResult>();
    if (ctx.globals.json) return print_json(st);
    info(ctx, "sjsd is already running (pid " + std::to_string(st.pid) + ")");
    if (!http.empty() && st.http_url.empty()) {
      info(ctx, "it serves no HTTP: use `sjs daemon restart --http " + http + "`");
    }
    return;
  }
  std::vector<std::string> sjsd_args;
  if (!http.empty()) sjsd_args = {"--http", http};
  ensure_daemon(ctx.globals, true, sjsd_args);
  auto c = try_connect(ctx.globals);
  if (!c) throw Error(ErrorCode::unavailable, "sjsd started but does not answer");
  auto st = c->call(op::k_daemon_status, nlohmann::json::object()).get<DaemonStatusResult>();
  if (ctx.globals.json) return print_json(st);
  info(ctx, "sjsd started (pid " + std::to_string(st.pid) + ", data in " + st.data_dir +
                (st.http_url.empty() ? "" : ", HTTP on " + st.http_url) + ")");
}

// Remote: asks sjsd to stop through the API, then waits until it closes the connection
// (its process has exited). An unreachable sjsd is an error here: we cannot tell it stopped.
bool stop_remote(Context& ctx, double wait_s) {
  auto& t = ctx.client();
  t.call(op::k_daemon_stop, nlohmann::json::object());
  auto* http = dynamic_cast<HttpTransport*>(&t);
  if (http && !http->wait_closed(wait_s)) {
    throw Error(ErrorCode::timeout, "sjsd at " + http->url() + " is still stopping after " +
                                        nlohmann::json(wait_s).dump() + " s (running jobs get its grace period)");
  }
  return true;
}

// Asks sjsd to stop and waits until its process is gone. Returns false if none ran.
bool stop(Context& ctx, double wait_s) {
  if (ctx.remote()) return stop_remote(ctx, wait_s);
  auto c = try_connect(ctx.globals);
  if (!c) return false;
  auto st = c->call(op::k_daemon_status, nlohmann::json::object()).get<DaemonStatusResult>();
  c->call(op::k_daemon_stop, nlohmann::json::object());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long>(wait_s * 1000));
  while (process_running(st.pid)) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw Error(ErrorCode::timeout, "sjsd (pid " + std::to_string(st.pid) + ") is still stopping after " +
                                          nlohmann::json(wait_s).dump() + " s (running jobs get its grace period)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

void print_daemon_status(Context& ctx, const DaemonStatusResult& st) {
  if (ctx.globals.json) {
    nlohmann::json j = st;
    j["running"] = true;
    return print_json(j);
  }
  print_table({{"sjsd:", "running (pid " + std::to_string(st.pid) + ", version " + st.version + ")"},
               {"since:", human_time(st.started_ms)},
               {"data dir:", st.data_dir},
               {"socket:", st.socket},
               {"http:", st.http_url.empty() ? "off" : st.http_url},
               {"contexts:", std::to_string(st.contexts)},
               {"jobs:", std::to_string(st.running) + " running, " + std::to_string(st.queued) + " queued, " +
                             std::to_string(st.jobs_total) + " recorded"}});
}

}  // namespace

void add_daemon_commands(CLI::App& app, Context& ctx) {
  auto* d = app.add_subcommand("daemon", "Start, stop and inspect sjsd (no tmux needed)");
  d->require_subcommand(1);
  auto start_http = std::make_shared<std::string>();
  auto* st = d->add_subcommand("start", "Start sjsd in the background if it is not running");
  st->add_option("--http", *start_http, "Also serve the HTTP API on ADDR[:PORT] (default port 8090), e.g. 127.0.0.1:8090");
  st->callback([&ctx, start_http] { start(ctx, *start_http); });

  auto wait_s = std::make_shared<double>(60);
  auto* sp = d->add_subcommand("stop", "Stop sjsd gracefully and wait until it has exited");
  sp->add_option("--wait", *wait_s, "Give up waiting after SECONDS (default 60)")->check(CLI::NonNegativeNumber);
  sp->callback([&ctx, wait_s] {
    bool was = stop(ctx, *wait_s);
    if (ctx.globals.json) return print_json({{"stopped", was}});
    info(ctx, was ? "sjsd stopped" : "sjsd was not running");
  });

  d->add_subcommand("status", "Is sjsd running? Its pid, paths and job counts")->callback([&ctx] {
    if (ctx.remote()) {
      try {
        print_daemon_status(ctx, ctx.client().call(op::k_daemon_status, nlohmann::json::object())
                                     .get<DaemonStatusResult>());
      } catch (const Error& e) {
        if (e.code() != ErrorCode::unavailable) throw;
        if (ctx.globals.json) print_json({{"running", false}, {"url", ctx.globals.url}});
        else std::cout << "sjsd is not reachable at " << ctx.globals.url << "\n";
        std::cerr << "sjs: " << e.what() << "\n";
        ctx.exit_code = exit_code::k_unavailable;
      }
      return;
    }
    auto c = try_connect(ctx.globals);
    if (!c) {
      Paths p = resolve_paths(ctx.globals.data_dir, ctx.globals.socket);
      if (ctx.globals.json) print_json({{"running", false}, {"socket", p.socket}});
      else std::cout << "sjsd is not running (socket " << p.socket << ")\n";
      ctx.exit_code = exit_code::k_unavailable;
      return;
    }
    print_daemon_status(ctx, c->call(op::k_daemon_status, nlohmann::json::object()).get<DaemonStatusResult>());
  });

  auto rwait = std::make_shared<double>(60);
  auto* rs = d->add_subcommand("restart", "Stop sjsd gracefully, then start it again");
  auto restart_http = std::make_shared<std::string>();
  rs->add_option("--wait", *rwait, "Give up waiting for the stop after SECONDS (default 60)");
  rs->add_option("--http", *restart_http, "Serve the HTTP API on ADDR[:PORT] after the restart (default port 8090)");
  rs->callback([&ctx, rwait, restart_http] {
    refuse_remote(ctx, "restart");
    stop(ctx, *rwait);
    start(ctx, *restart_http);
  });
}

}  // namespace sjs::cli

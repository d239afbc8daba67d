// Benchmarks 1 and 3 (README.md): submit-and-wait latency of a trivial exec job
// through the real CLI, ad-hoc and on a warm named context, against
// task-spooler (`tsp true` + `tsp -w ID`) in the same run; and the floors that
// show where the time goes (a bare process spawn, `sjs --version`, one daemon
// round trip through the CLI, the same sync submit without a CLI process).
//
// Every timed iteration is one posix_spawn + waitpid (no shell), stdout and
// stderr to /dev/null, timed with CLOCK_MONOTONIC.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "sjs/client.hpp"
#include "sjs/errors.hpp"
#include "sjs/messages.hpp"

using namespace sjs::bench;

namespace {

struct Row {
  std::string name;
  std::optional<Summary> summary;  // nullopt: skipped
  std::string note;
};

void print_rows(const std::vector<Row>& rows) {
  std::printf("%-52s %6s %9s %9s %9s %9s %9s\n", "benchmark (times in ms)", "n", "median", "p90", "p99", "mean",
              "min");
  for (const auto& r : rows) {
    if (!r.summary) {
      std::printf("%-52s %s\n", r.name.c_str(), r.note.c_str());
      continue;
    }
    const Summary& s = *r.summary;
    std::printf("%-52s %6zu %9.3f %9.3f %9.3f %9.3f %9.3f\n", r.name.c_str(), s.n, s.median, s.p90, s.p99, s.mean,
                s.min);
  }
}

void expect_zero(int rc, const char* what) {
  if (rc != 0) throw std::runtime_error(std::string(what) + " exited with " + std::to_string(rc));
}

struct Probe {
  std::string name;
  long count;                  // timed runs
  std::function<void()> run;   // one operation; throws if it fails
};

// `warmup` untimed runs of each probe, then the timed runs, one of each probe in
// turn, until each has its count. Returns the times (ms), per probe.
std::vector<std::vector<double>> run_round_robin(const std::vector<Probe>& probes, long warmup) {
  for (long i = 0; i < warmup; ++i) {
    for (const auto& p : probes) p.run();
  }
  std::vector<std::vector<double>> samples(probes.size());
  long most = 0;
  for (const auto& p : probes) most = std::max(most, p.count);
  for (long i = 0; i < most; ++i) {
    for (std::size_t k = 0; k < probes.size(); ++k) {
      if (i >= probes[k].count) continue;
      const auto t0 = now_ns();
      probes[k].run();
      samples[k].push_back(ms_since(t0));
    }
  }
  return samples;
}

}  // namespace

int main(int argc, char** argv) {
  long n = 500, warmup = 20, n_floor = 200;
  parse_int_options(argc, argv, {{"--n", &n}, {"--warmup", &warmup}, {"--n-floor", &n_floor}});
  const std::string sjs = sjs_binary();
  const std::string tsp = find_on_path("tsp");
  const std::string true_bin = "/bin/true";

  try {
    TempDir dir("sjs-bench-latency");
    const std::string home = dir.path() + "/home";
    const std::string tsp_tmp = dir.path() + "/tsp";
    ::mkdir(home.c_str(), 0700);
    ::mkdir(tsp_tmp.c_str(), 0700);
    std::printf("latency: n=%ld timed runs per row after %ld warm-up runs (floors: n=%ld), rows interleaved; "
                "temp dir %s; %u cores\n\n",
                n, warmup, n_floor, dir.path().c_str(), std::thread::hardware_concurrency());
    std::fflush(stdout);

    Environment sjs_env({{"SJS_HOME", home},
                         {"SJS_SOCKET", Environment::k_unset},
                         {"SJS_NO_AUTOSTART", "1"}});
    Environment plain_env({});
    Environment tsp_env({{"TS_SOCKET", dir.path() + "/tsp.sock"},
                         {"TMPDIR", tsp_tmp},
                         {"TS_MAXFINISHED", std::to_string(n + warmup + 1000)},
                         {"TS_SLOTS", "1"},
                         {"TS_ONFINISH", Environment::k_unset},
                         {"TS_ENV", Environment::k_unset},
                         {"TS_SAVELIST", Environment::k_unset},
                         {"TS_MAXCONN", Environment::k_unset}});

    Daemon daemon(sjs, sjs_env);
    run_checked(Argv({sjs, "binary", "upload", "true", true_bin, "--type", "exec"}), sjs_env);
    run_checked(Argv({sjs, "context", "create", "warm", "--max-jobs", "4"}), sjs_env);
    sjs::Client client(home + "/sjsd.sock");
    client.hello("sjs-bench");

    // Every probe is one timed operation. They run round-robin (one of each, again
    // and again) so that other load on the machine hits them all alike.
    std::vector<Probe> probes;
    auto spawn_probe = [&](std::string name, long count, Argv cmd, const Environment& env) {
      std::string what = cmd.joined();
      probes.push_back({std::move(name), count, [cmd = std::move(cmd), &env, what = std::move(what)] {
                          expect_zero(spawn_wait(cmd, env), what.c_str());
                        }});
    };
    // Floors: one process spawn + wait; the CLI process alone (benchmark 3); the CLI
    // plus connect + hello + one cheap request.
    spawn_probe("posix_spawn /bin/true (process floor)", n_floor, Argv({true_bin}), plain_env);
    spawn_probe("sjs --version (CLI process floor)", n_floor, Argv({sjs, "--version"}), sjs_env);
    spawn_probe("sjs daemon status (CLI + one round trip)", n_floor, Argv({sjs, "daemon", "status"}), sjs_env);
    // Benchmark 1: sync submit through the CLI.
    const std::size_t adhoc_index = probes.size();
    spawn_probe("sjs job submit true --sync (ad-hoc)", n, Argv({sjs, "job", "submit", "true", "--sync"}), sjs_env);
    const std::size_t warm_index = probes.size();
    spawn_probe("sjs job submit true --sync --context warm", n,
                Argv({sjs, "job", "submit", "true", "--sync", "--context", "warm"}), sjs_env);
    // The same request without a CLI process: one connection, sync submits.
    for (const char* ctx : {"", "warm"}) {
      sjs::JobSubmitArgs a;
      a.binary = "true";
      a.context = ctx;
      a.sync = true;
      probes.push_back({std::string("in-process Client job.submit sync (") + (*ctx ? "warm" : "ad-hoc") + ")", n,
                        [&client, args = nlohmann::json(a)] {
                          auto r = client.call(sjs::op::k_job_submit, args).get<sjs::JobResult>();
                          if (r.job.state != sjs::job_state::k_finished) {
                            throw std::runtime_error("job ended " + r.job.state);
                          }
                        }});
    }
    // Reference: task-spooler, one job = `tsp true` (prints the id) + `tsp -w ID`.
    std::size_t tsp_index = probes.size();
    if (!tsp.empty()) {
      probes.push_back({"tsp true + tsp -w ID (task-spooler)", n, [&tsp_env, add = Argv({tsp, true_bin}), &tsp] {
                          std::string out;
                          expect_zero(spawn_wait(add, tsp_env, &out), "tsp true");
                          while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
                          if (out.empty() || out.find_first_not_of("0123456789") != std::string::npos) {
                            throw std::runtime_error("tsp printed no job id: \"" + out + "\"");
                          }
                          expect_zero(spawn_wait(Argv({tsp, "-w", out}), tsp_env), "tsp -w");
                        }});
    }
    struct TspServer {
      const std::string& tsp;
      const Environment& env;
      ~TspServer() {
        if (tsp.empty()) return;
        try {
          spawn_wait(Argv({tsp, "-K"}), env);  // stops the server (and removes its socket)
        } catch (const std::exception& e) {
          std::fprintf(stderr, "bench_latency: tsp -K: %s\n", e.what());
        }
      }
    } tsp_server{tsp, tsp_env};

    auto samples = run_round_robin(probes, warmup);
    std::vector<Row> rows;
    for (std::size_t i = 0; i < probes.size(); ++i) rows.push_back({probes[i].name, summarize(samples[i]), ""});
    if (tsp.empty()) {
      rows.push_back({"tsp true + tsp -w ID", std::nullopt,
                      "SKIPPED: tsp not found (task-spooler): run scripts/install-deps.sh"});
    }
    const Summary sjs_adhoc = *rows[adhoc_index].summary;
    const Summary sjs_warm = *rows[warm_index].summary;
    std::optional<Summary> tsp_summary;
    if (!tsp.empty()) tsp_summary = rows[tsp_index].summary;
    const double stop_ms = daemon.stop();

    print_rows(rows);
    std::printf("\n");
    if (tsp_summary) {
      auto ratio = [&](const char* name, const Summary& s) {
        std::printf("%-52s median %.2fx   mean %.2fx   p99 %.2fx\n", name, s.median / tsp_summary->median,
                    s.mean / tsp_summary->mean, s.p99 / tsp_summary->p99);
      };
      std::printf("ratio to tsp (lower is better; < 1 means sjs is faster):\n");
      ratio("  sjs ad-hoc / tsp", sjs_adhoc);
      ratio("  sjs --context warm / tsp", sjs_warm);
    }
    std::printf("sjs daemon stop took %.0f ms\n", stop_ms);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_latency: %s\n", e.what());
    return 1;
  }
}

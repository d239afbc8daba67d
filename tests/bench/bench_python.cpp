// Benchmark 6 (README.md): sync latency of a trivial python job (`def run(ctx, config): return 1`)
// through the real CLI, on a warm python context and ad-hoc (an interpreter started for the job),
// against, in the same run: the warm exec `true` job (the goal: a warm python job no slower than
// 1.2x it), the interpreter's own start-up (`python3 -c pass`) and a bare process start.
//
// The warm python and warm exec jobs are timed alternately, one of each per round, so that a
// busy moment of the machine costs both alike. Every timed run is one posix_spawn + waitpid (no
// shell), stdout and stderr to /dev/null, timed with CLOCK_MONOTONIC.
#include <cstdio>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <vector>

#include "bench_util.hpp"

using namespace sjs::bench;

namespace {

void print_row(const std::string& name, const Summary& s) {
  std::printf("%-52s %6zu %9.3f %9.3f %9.3f %9.3f %9.3f\n", name.c_str(), s.n, s.median, s.p90, s.p99, s.mean, s.min);
}

void expect_zero(int rc, const std::string& what) {
  if (rc != 0) throw std::runtime_error(what + " exited with " + std::to_string(rc));
}

double timed(const Argv& argv, const Environment& env, const char* what) {
  const std::int64_t t0 = now_ns();
  expect_zero(spawn_wait(argv, env), what);
  return ms_since(t0);
}

}  // namespace

int main(int argc, char** argv) {
  long n = 300, warmup = 20, n_cold = 20;
  parse_int_options(argc, argv, {{"--n", &n}, {"--warmup", &warmup}, {"--n-cold", &n_cold}});
  const std::string sjs = sjs_binary();
  try {
    TempDir dir("sjs-bench-python");
    const std::string home = dir.path() + "/home";
    ::mkdir(home.c_str(), 0700);
    const std::string job = dir.path() + "/trivial.py";
    std::ofstream(job) << "def run(ctx, config):\n    return 1\n";
    Environment sjs_env({{"SJS_HOME", home}, {"SJS_SOCKET", Environment::k_unset}, {"SJS_NO_AUTOSTART", "1"}});
    Environment plain_env({});
    const std::string python_on_path = find_on_path("python3");
    const std::string true_bin = find_on_path("true");
    if (python_on_path.empty()) throw std::runtime_error("python3 must be on PATH (scripts/install-deps.sh)");
    // The interpreter itself, not a wrapper (pyenv's shim costs more than Python's own start-up): sjsd
    // runs it (python.interpreter) and it is the start-up reference.
    std::string python = run_checked(Argv({python_on_path, "-c", "import sys; print(sys.executable)"}), plain_env);
    while (!python.empty() && (python.back() == '\n' || python.back() == ' ')) python.pop_back();
    std::ofstream(home + "/sjsd.conf") << "python.interpreter = \"" << python << "\"\n";

    std::printf("python latency: n=%ld (warm, floors) and n=%ld (ad-hoc) timed runs after %ld warm-up runs; "
                "interpreter %s; temp dir %s; %u cores\n\n",
                n, n_cold, warmup, python.c_str(), dir.path().c_str(), std::thread::hardware_concurrency());
    std::fflush(stdout);

    Daemon daemon(sjs, sjs_env);
    run_checked(Argv({sjs, "binary", "upload", "trivial", job}), sjs_env);
    run_checked(Argv({sjs, "binary", "upload", "true", true_bin, "--type", "exec"}), sjs_env);
    run_checked(Argv({sjs, "context", "create", "warmpy", "--runtime", "python", "--max-jobs", "4"}), sjs_env);
    run_checked(Argv({sjs, "context", "create", "warmexec", "--max-jobs", "4"}), sjs_env);

    const Argv warm_py({sjs, "job", "submit", "trivial", "run", "--context", "warmpy", "--sync"});
    const Argv warm_exec({sjs, "job", "submit", "true", "--context", "warmexec", "--sync"});
    const Argv adhoc({sjs, "job", "submit", "trivial", "run", "--sync"});
    const Argv python_pass({python, "-c", "pass"});
    const Argv bare({"/bin/true"});

    for (long i = 0; i < warmup; ++i) {
      timed(warm_py, sjs_env, "warm python submit");
      timed(warm_exec, sjs_env, "warm exec submit");
    }
    std::vector<double> py_ms, exec_ms;
    for (long i = 0; i < n; ++i) {
      py_ms.push_back(timed(warm_py, sjs_env, "warm python submit"));
      exec_ms.push_back(timed(warm_exec, sjs_env, "warm exec submit"));
    }
    auto bare_ms = time_loop(warmup, n, [&] { expect_zero(spawn_wait(bare, plain_env), "/bin/true"); });
    auto pass_ms = time_loop(2, n_cold, [&] { expect_zero(spawn_wait(python_pass, plain_env), "python3 -c pass"); });
    auto adhoc_ms = time_loop(2, n_cold, [&] { expect_zero(spawn_wait(adhoc, sjs_env), "ad-hoc submit"); });

    std::printf("%-52s %6s %9s %9s %9s %9s %9s\n", "benchmark (times in ms)", "n", "median", "p90", "p99", "mean",
                "min");
    const Summary w = summarize(py_ms), e = summarize(exec_ms), a = summarize(adhoc_ms), p = summarize(pass_ms),
                  b = summarize(bare_ms);
    print_row("sjs job submit trivial run --sync, warm python", w);
    print_row("sjs job submit true --sync, warm exec context", e);
    print_row("sjs job submit trivial run --sync, ad-hoc python", a);
    print_row("python3 -c pass (interpreter start-up)", p);
    print_row("posix_spawn /bin/true (bare process start)", b);
    std::printf("\nwarm python / warm exec: median %.2fx, p99 %.2fx (goal <= 1.2x)\n", w.median / e.median,
                w.p99 / e.p99);
    std::printf("ad-hoc python / warm python: median %.1fx (goal >= 20x); ad-hoc / python3 -c pass: median %.2fx\n",
                a.median / w.median, a.median / p.median);
    daemon.stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_python: %s\n", e.what());
    return 1;
  }
  return 0;
}

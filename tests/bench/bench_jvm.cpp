// Benchmark 4 (README.md): sync latency of a trivial jar job (sjs.examples.HelloWorld)
// through the real CLI, on a warm jvm context and ad-hoc (a JVM started for the
// job), against, in the same run, the JVM's own start-up (`java -cp DIR Hello`)
// and a bare process start (posix_spawn of /bin/true).
//
// Every timed iteration is one posix_spawn + waitpid (no shell), stdout and
// stderr to /dev/null, timed with CLOCK_MONOTONIC.
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

}  // namespace

int main(int argc, char** argv) {
  long n = 300, warmup = 20, n_cold = 20;
  parse_int_options(argc, argv, {{"--n", &n}, {"--warmup", &warmup}, {"--n-cold", &n_cold}});
  const std::string sjs = sjs_binary();
  const std::string build = sjs.substr(0, sjs.find_last_of('/'));
  const std::string jar = build + "/sjs-examples.jar";
  try {
    TempDir dir("sjs-bench-jvm");
    const std::string home = dir.path() + "/home";
    const std::string hello_dir = dir.path() + "/hello";
    ::mkdir(home.c_str(), 0700);
    ::mkdir(hello_dir.c_str(), 0700);
    std::ofstream(hello_dir + "/Hello.java")
        << "public class Hello { public static void main(String[] a) { System.out.println(\"Hi!\"); } }\n";
    Environment sjs_env({{"SJS_HOME", home}, {"SJS_SOCKET", Environment::k_unset}, {"SJS_NO_AUTOSTART", "1"}});
    Environment plain_env({});
    const std::string javac = find_on_path("javac"), java_bin = find_on_path("java");
    if (javac.empty() || java_bin.empty()) throw std::runtime_error("java and javac must be on PATH (scripts/install-deps.sh)");
    expect_zero(spawn_wait(Argv({javac, "-d", hello_dir, hello_dir + "/Hello.java"}), plain_env), "javac");

    std::printf("jvm latency: n=%ld (warm, floor) and n=%ld (ad-hoc, java start-up) timed runs after %ld warm-up "
                "runs; temp dir %s; %u cores\n\n",
                n, n_cold, warmup, dir.path().c_str(), std::thread::hardware_concurrency());
    std::fflush(stdout);

    Daemon daemon(sjs, sjs_env);
    run_checked(Argv({sjs, "jar", "upload", "ex", jar}), sjs_env);
    run_checked(Argv({sjs, "context", "create", "warm", "--runtime", "jvm", "--max-jobs", "4"}), sjs_env);

    const Argv warm({sjs, "job", "submit", "ex", "sjs.examples.HelloWorld", "--context", "warm", "--sync"});
    const Argv adhoc({sjs, "job", "submit", "ex", "sjs.examples.HelloWorld", "--sync"});
    const Argv java({java_bin, "-cp", hello_dir, "Hello"});
    const Argv bare({"/bin/true"});

    auto warm_ms = time_loop(warmup, n, [&] { expect_zero(spawn_wait(warm, sjs_env), "warm submit"); });
    auto bare_ms = time_loop(warmup, n, [&] { expect_zero(spawn_wait(bare, plain_env), "/bin/true"); });
    auto adhoc_ms = time_loop(2, n_cold, [&] { expect_zero(spawn_wait(adhoc, sjs_env), "ad-hoc submit"); });
    auto java_ms = time_loop(2, n_cold, [&] { expect_zero(spawn_wait(java, plain_env), "java Hello"); });

    std::printf("%-52s %6s %9s %9s %9s %9s %9s\n", "benchmark (times in ms)", "n", "median", "p90", "p99", "mean",
                "min");
    const Summary w = summarize(warm_ms), a = summarize(adhoc_ms), j = summarize(java_ms), b = summarize(bare_ms);
    print_row("sjs job submit HelloWorld --sync, warm jvm context", w);
    print_row("sjs job submit HelloWorld --sync, ad-hoc (new JVM)", a);
    print_row("java -cp DIR Hello (JVM start-up)", j);
    print_row("posix_spawn /bin/true (bare process start)", b);
    std::printf("\nwarm job median %.3f ms (goal <= 3 ms); ad-hoc / java start-up median %.2fx\n", w.median,
                a.median / j.median);
    daemon.stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_jvm: %s\n", e.what());
    return 1;
  }
  return 0;
}

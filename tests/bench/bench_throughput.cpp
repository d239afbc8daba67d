// Benchmark 2 (README.md): durable submission throughput over one pipelined
// client connection, against LMDB doing one synced commit per write on the
// same disk, in the same run.
//
// sjs side: 10,000 async job.submit of `true` over ONE sjs::Client connection,
// with up to --window requests in flight. A submission counts when its ack
// arrives; sjsd acks only after the LMDB commit that holds the job (group
// commit), so every counted job is on disk. The jobs go to a named context
// `hold` with one slot that a long `sleep` job occupies, so they stay QUEUED and
// the machine does not run 10,000 processes during the measurement.
//
// Reference: a fresh LMDB env with default (fully synced) flags, --lmdb-commits
// transactions of one ~300-byte put each, each committed on its own.
#include <lmdb.h>

#include <cstdio>
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

void check(int rc, const char* what) {
  if (rc != MDB_SUCCESS) throw std::runtime_error(std::string(what) + ": " + mdb_strerror(rc));
}

// The last committed write transaction's id in the LMDB env in `dir`: one more
// per commit. Read through a read-only handle of our own (LMDB allows other
// processes to open an env that sjsd has open).
class TxnCounter {
 public:
  explicit TxnCounter(const std::string& dir) {
    check(mdb_env_create(&m_env), "mdb_env_create");
    int rc = mdb_env_open(m_env, dir.c_str(), MDB_RDONLY, 0600);
    if (rc != MDB_SUCCESS) {
      mdb_env_close(m_env);
      m_env = nullptr;
      check(rc, ("mdb_env_open " + dir).c_str());
    }
  }
  ~TxnCounter() {
    if (m_env) mdb_env_close(m_env);
  }
  TxnCounter(const TxnCounter&) = delete;
  TxnCounter& operator=(const TxnCounter&) = delete;
  std::size_t last_txn_id() const {
    MDB_envinfo info{};
    check(mdb_env_info(m_env, &info), "mdb_env_info");
    return info.me_last_txnid;
  }

 private:
  MDB_env* m_env = nullptr;
};

struct LmdbResult {
  long commits = 0;
  double seconds = 0;
};

LmdbResult lmdb_per_write_commits(const std::string& dir, long commits) {
  MDB_env* env = nullptr;
  check(mdb_env_create(&env), "mdb_env_create");
  struct Close {
    MDB_env* e;
    ~Close() { mdb_env_close(e); }
  } close_env{env};
  check(mdb_env_set_mapsize(env, std::size_t{256} << 20), "mdb_env_set_mapsize");
  check(mdb_env_open(env, dir.c_str(), 0, 0600), "mdb_env_open");  // default flags: every commit synced
  MDB_dbi dbi = 0;
  {
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env, nullptr, 0, &txn), "mdb_txn_begin");
    check(mdb_dbi_open(txn, nullptr, 0, &dbi), "mdb_dbi_open");
    check(mdb_txn_commit(txn), "mdb_txn_commit");
  }
  std::string value(300, 'x');
  const auto t0 = now_ns();
  for (long i = 0; i < commits; ++i) {
    char key[32];
    int klen = std::snprintf(key, sizeof key, "job-%012ld", i);
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env, nullptr, 0, &txn), "mdb_txn_begin");
    MDB_val k{static_cast<std::size_t>(klen), key};
    MDB_val v{value.size(), value.data()};
    int rc = mdb_put(txn, dbi, &k, &v, 0);
    if (rc != MDB_SUCCESS) {
      mdb_txn_abort(txn);
      check(rc, "mdb_put");
    }
    check(mdb_txn_commit(txn), "mdb_txn_commit");
  }
  return {commits, ms_since(t0) / 1000.0};
}

}  // namespace

int main(int argc, char** argv) {
  long jobs = 10000, window = 512, lmdb_commits = 2000;
  parse_int_options(argc, argv, {{"--jobs", &jobs}, {"--window", &window}, {"--lmdb-commits", &lmdb_commits}});
  if (window < 1) window = 1;
  const std::string sjs = sjs_binary();

  try {
    // Reference first, in its own temp dir on the same filesystem.
    LmdbResult ref;
    {
      TempDir ldir("sjs-bench-lmdb");
      ref = lmdb_per_write_commits(ldir.path(), lmdb_commits);
    }
    const double ref_rate = static_cast<double>(ref.commits) / ref.seconds;

    TempDir dir("sjs-bench-throughput");
    const std::string home = dir.path() + "/home";
    ::mkdir(home.c_str(), 0700);
    {
      // The sleeper is killed 1 s after `sjs daemon stop`; queued jobs just stay queued.
      FILE* f = std::fopen((home + "/sjsd.conf").c_str(), "w");
      if (!f) throw std::runtime_error("cannot write sjsd.conf");
      std::fputs("shutdown.grace-seconds = 1\n", f);
      std::fclose(f);
    }
    std::printf("throughput: %ld jobs, window %ld, over one connection; LMDB reference: %ld commits; temp dir %s; "
                "%u cores\n\n",
                jobs, window, lmdb_commits, dir.path().c_str(), std::thread::hardware_concurrency());
    std::fflush(stdout);

    Environment sjs_env({{"SJS_HOME", home}, {"SJS_SOCKET", Environment::k_unset}, {"SJS_NO_AUTOSTART", "1"}});
    Daemon daemon(sjs, sjs_env);
    run_checked(Argv({sjs, "binary", "upload", "true", "/bin/true", "--type", "exec"}), sjs_env);
    run_checked(Argv({sjs, "binary", "upload", "sleep", "/bin/sleep", "--type", "exec"}), sjs_env);
    run_checked(Argv({sjs, "context", "create", "hold", "--max-jobs", "1"}), sjs_env);

    sjs::Client client(home + "/sjsd.sock");
    client.hello("sjs-bench");

    // Occupy the one slot of `hold`.
    {
      sjs::JobSubmitArgs a;
      a.binary = "sleep";
      a.args = {"3600"};
      a.context = "hold";
      auto r = client.call(sjs::op::k_job_submit, a).get<sjs::JobResult>();
      const auto deadline = now_ns() + 30'000'000'000LL;
      for (;;) {
        auto st = client.call(sjs::op::k_job_status, sjs::JobIdArgs{r.job.id}).get<sjs::JobResult>();
        if (st.job.state == sjs::job_state::k_running) break;
        if (sjs::is_final_job_state(st.job.state)) throw std::runtime_error("the sleeper ended: " + st.job.state);
        if (now_ns() > deadline) throw std::runtime_error("the sleeper did not start");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }

    TxnCounter txns(home + "/store");
    const std::size_t txn_before = txns.last_txn_id();

    sjs::JobSubmitArgs a;
    a.binary = "true";
    a.context = "hold";
    const nlohmann::json args = a;
    long sent = 0, acked = 0, failed = 0;
    std::string first_error;
    const auto t0 = now_ns();
    while (acked + failed < jobs) {
      while (sent < jobs && sent - acked - failed < window) {
        client.send(sjs::op::k_job_submit, args);
        ++sent;
      }
      auto env = client.receive();
      if (env.value("ok", false) && !env.value("more", false)) {
        ++acked;
      } else {
        ++failed;
        if (first_error.empty()) first_error = env.dump();
      }
    }
    const double seconds = ms_since(t0) / 1000.0;
    const std::size_t txn_after = txns.last_txn_id();

    auto status = client.call(sjs::op::k_daemon_status, nlohmann::json::object()).get<sjs::DaemonStatusResult>();
    const double stop_ms = daemon.stop();

    if (failed > 0) throw std::runtime_error(std::to_string(failed) + " submissions failed; first: " + first_error);
    const double rate = static_cast<double>(acked) / seconds;
    const std::size_t commits = txn_after - txn_before;

    std::printf("%-58s %12s %12s\n", "benchmark", "count", "seconds");
    std::printf("%-58s %12ld %12.3f\n", "sjs: pipelined durable job.submit, one connection", acked, seconds);
    std::printf("%-58s %12ld %12.3f\n", "LMDB: one synced commit per ~300-byte write", ref.commits, ref.seconds);
    std::printf("\n");
    std::printf("sjs submissions acked:           %12.0f jobs/s\n", rate);
    std::printf("LMDB commits (1 write each):     %12.0f commits/s\n", ref_rate);
    std::printf("ratio sjs / LMDB per-write:      %12.1fx   (goal: >= 10x)\n", rate / ref_rate);
    std::printf("sjs store commits while submitting: %zu for %ld jobs (%.1f jobs per commit)\n", commits, acked,
                commits ? static_cast<double>(acked) / static_cast<double>(commits) : 0.0);
    std::printf("sjsd afterwards: %d queued, %d running (expected %ld queued, 1 running)\n", status.queued,
                status.running, acked);
    std::printf("sjs daemon stop took %.0f ms\n", stop_ms);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_throughput: %s\n", e.what());
    return 1;
  }
}

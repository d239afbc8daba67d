// The durable store: binaries' metadata, contexts, jobs (with configs and
// results) and their indexes, in one LMDB environment.
//
// Threads: reads run on the calling thread, each in its own read transaction.
// Writes are queued and applied by one writer thread that owns every write
// transaction; everything queued while a commit is in flight goes into the next
// commit together (group commit). A write's `done` callback runs, through the
// `post` function given at construction, only after the commit that holds it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "sjs/errors.hpp"
#include "sjs/messages.hpp"

namespace sjs::store {

class Env;
class Txn;
struct Dbs;

constexpr int k_schema_version = 1;

struct StoreOptions {
  std::string dir;                       // holds data.mdb and lock.mdb
  std::size_t map_size = std::size_t{16} << 30;
};

struct RetentionPolicy {
  std::uint64_t max_jobs = 0;            // keep at most this many finished jobs (0 = no limit)
  std::int64_t max_age_ms = 0;           // drop finished jobs that ended longer ago (0 = no limit)
};

// How a queued write ended: an empty message on success. A full store (LMDB map full) or a full disk
// under it is storage_full, anything else internal. Converts to its message, so a `done` taking a
// string still works.
struct WriteError {
  ErrorCode code = ErrorCode::internal;
  std::string message;
  bool empty() const { return message.empty(); }
  operator const std::string&() const { return message; }
  // The error to answer a client with: storage_full keeps its message (it names the fix).
  Error to_error(const std::string& what_failed) const;
};

class Store {
 public:
  using Post = std::function<void(std::function<void()>)>;
  using Done = std::function<void(const WriteError& error)>;

  // Opens (creating if needed) and checks the schema version; throws Error.
  Store(const StoreOptions& options, Post post);
  ~Store();  // flushes queued writes, stops the writer
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // ---- reads ----
  std::optional<JobInfo> get_job(const std::string& id) const;
  std::optional<nlohmann::json> get_job_config(const std::string& id) const;
  std::optional<nlohmann::json> get_job_result(const std::string& id) const;
  std::optional<std::string> job_id_by_key(const std::string& key) const;
  // Newest first; costs time in proportion to the page (see list_jobs in store.cpp).
  std::vector<JobInfo> list_jobs(const JobListArgs& args) const;
  std::vector<JobInfo> jobs_in_state(const std::string& state) const;  // oldest first
  std::uint64_t count_jobs_in_state(const std::string& state) const;    // index only: no job is loaded
  std::uint64_t last_job_seq() const;
  std::uint64_t job_count() const;
  // Jobs whose callback is still owed (submitted with a callback URL, not yet delivered or given up).
  std::vector<std::string> pending_callbacks() const;

  std::vector<BinaryInfo> binary_versions(const std::string& name) const;  // oldest first
  std::vector<BinaryInfo> list_binaries() const;                           // newest version per name
  bool blob_referenced(const std::string& sha256) const;

  std::vector<ContextInfo> list_contexts() const;
  std::optional<ContextInfo> get_context(const std::string& name) const;

  // Partition-server clusters' records (ClusterTable owns their shape), by name.
  std::vector<nlohmann::json> list_clusters() const;

  // ---- writes (queued; applied in order; `done` after the commit) ----
  // Inserts or updates a job and its indexes; a non-null config/result is stored with it.
  void put_job(const JobInfo& job, const nlohmann::json* config, const nlohmann::json* result, Done done = {});
  void put_binary(const BinaryInfo& binary, Done done = {});
  void delete_binary(const std::string& name, int version, Done done = {});  // version 0 = all
  void put_context(const ContextInfo& context, Done done = {});
  void delete_context(const std::string& name, Done done = {});
  void put_cluster(const std::string& name, const nlohmann::json& record, Done done = {});
  void delete_cluster(const std::string& name, Done done = {});
  // The job's callback was delivered, or given up on.
  void callback_done(const std::string& job_id, Done done = {});
  // Removes finished jobs past the policy; `removed` gets their ids (for their logs).
  void apply_retention(const RetentionPolicy& policy, std::function<void(std::vector<std::string>)> removed);

  // Blocks until every write queued so far is committed.
  void flush();
  // True while the last commit failed because the store or its disk is full; the next commit that
  // succeeds clears it (each write is tried on its own: nothing is refused ahead of LMDB).
  bool full() const;
  // Writes per commit, for tests and benchmarks.
  std::uint64_t commits() const;
  std::uint64_t writes() const;

 private:
  struct Op {
    std::function<void(Txn&)> apply;
    Done done;
  };
  void enqueue(std::function<void(Txn&)> apply, Done done);
  void writer_loop();

  std::unique_ptr<Env> m_env;
  std::unique_ptr<Dbs> m_dbs;
  Post m_post;

  // Shared between callers and the writer thread, guarded by m_mutex.
  mutable std::mutex m_mutex;
  std::condition_variable m_cv;
  std::condition_variable m_flushed_cv;
  std::vector<Op> m_pending;
  std::uint64_t m_enqueued = 0;
  std::uint64_t m_applied = 0;
  std::uint64_t m_commits = 0;
  bool m_full = false;
  bool m_stopping = false;
  std::string m_dir;  // for messages
  std::thread m_writer;
};

}  // namespace sjs::store

// The Store's public API speaks the wire types (JobInfo, ContextInfo,
// BinaryInfo); what it keeps on disk are its own records (records.hpp),
// converted here at the boundary. Opening an older store upgrades it
// (migrations.hpp).
#include "store/store.hpp"

#include <chrono>

#include <spdlog/spdlog.h>

#include "sjs/errors.hpp"
#include "sjs/paths.hpp"
#include "sjs/util.hpp"
#include "store/lmdb.hpp"
#include "store/migrations.hpp"
#include "store/records.hpp"

namespace sjs::store {

// Named databases. Keys: seq is 8 bytes big-endian so byte order is numeric order.
// Values are records (records.hpp), never wire types.
struct Dbs {
  MDB_dbi meta;       // "schema" -> "1" (the schema version, migrations.hpp)
  MDB_dbi jobs;       // job id -> StoredJob
  MDB_dbi job_config; // job id -> config JSON
  MDB_dbi job_result; // job id -> result JSON
  MDB_dbi by_seq;     // seq -> job id                       (all jobs)
  MDB_dbi by_state;   // state \0 seq -> job id
  MDB_dbi by_context; // context \0 seq -> job id
  MDB_dbi by_ctx_state; // context \0 state \0 seq -> job id
  MDB_dbi finished;   // seq -> job id                       (final jobs: retention)
  MDB_dbi keys;       // idempotency key -> job id
  MDB_dbi binaries;   // name \0 version(be32) -> StoredBinary
  MDB_dbi contexts;   // name -> StoredContext
  MDB_dbi callbacks;  // job id -> callback URL, until it was delivered or given up on
  MDB_dbi clusters;   // cluster name -> its record (JSON, ClusterTable's)
};

namespace {

std::string be64(std::uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i) {
    s[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return s;
}

std::uint64_t from_be64(std::string_view s) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8 && i < s.size(); ++i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

std::string be32(std::uint32_t v) {
  std::string s(4, '\0');
  for (int i = 3; i >= 0; --i) {
    s[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return s;
}

std::string joined(std::string_view a, std::string_view b) {
  std::string s(a);
  s.push_back('\0');
  s.append(b);
  return s;
}

std::string state_key(const StoredJob& j) { return joined(j.state, be64(j.seq)); }
std::string context_key(const StoredJob& j) { return joined(j.context, be64(j.seq)); }
std::string ctx_state_key(const StoredJob& j) { return joined(joined(j.context, j.state), be64(j.seq)); }

std::vector<JobInfo> load_jobs(const Txn& txn, const Dbs& dbs, const std::vector<std::string>& ids) {
  std::vector<JobInfo> out;
  out.reserve(ids.size());
  for (const auto& id : ids) {
    std::string_view v;
    if (txn.get(dbs.jobs, id, v)) out.push_back(to_wire(decode_job(v)));
  }
  return out;
}

void delete_job(Txn& txn, const Dbs& dbs, const StoredJob& j) {
  txn.del(dbs.jobs, j.id);
  txn.del(dbs.job_config, j.id);
  txn.del(dbs.job_result, j.id);
  txn.del(dbs.by_seq, be64(j.seq));
  txn.del(dbs.by_state, state_key(j));
  txn.del(dbs.by_context, context_key(j));
  txn.del(dbs.by_ctx_state, ctx_state_key(j));
  txn.del(dbs.finished, be64(j.seq));
  txn.del(dbs.callbacks, j.id);
  if (!j.key.empty()) {
    std::string owner;
    if (txn.get(dbs.keys, j.key, owner) && owner == j.id) txn.del(dbs.keys, j.key);
  }
}

}  // namespace

Error WriteError::to_error(const std::string& what_failed) const {
  if (code == ErrorCode::storage_full) return Error(code, message);
  return Error(code, what_failed + ": " + message);
}

Store::Store(const StoreOptions& options, Post post) : m_dbs(std::make_unique<Dbs>()), m_post(std::move(post)) {
  m_dir = options.dir;
  make_dirs(options.dir, 0700);
  m_env = std::make_unique<Env>(options.dir, options.map_size, k_max_dbs);
  Txn txn(*m_env, false);
  Dbs& d = *m_dbs;
  d.meta = txn.open_db("meta", true);
  if (newest_schema(migrations()) != k_schema_version) {
    throw Error(ErrorCode::internal, "store: k_schema_version is " + std::to_string(k_schema_version) +
                                         " but the migrations reach version " +
                                         std::to_string(newest_schema(migrations())));
  }
  // Upgrades run in this transaction, before the databases are opened: all or nothing.
  migrate(txn, d.meta, migrations(), options.dir);
  d.jobs = txn.open_db("jobs", true);
  d.job_config = txn.open_db("job_config", true);
  d.job_result = txn.open_db("job_result", true);
  d.by_seq = txn.open_db("jobs_by_seq", true);
  d.by_state = txn.open_db("jobs_by_state", true);
  d.by_context = txn.open_db("jobs_by_context", true);
  d.by_ctx_state = txn.open_db("jobs_by_context_state", true);
  d.finished = txn.open_db("jobs_finished", true);
  d.callbacks = txn.open_db("job_callbacks", true);
  d.keys = txn.open_db("job_keys", true);
  d.binaries = txn.open_db("binaries", true);
  d.contexts = txn.open_db("contexts", true);
  d.clusters = txn.open_db("clusters", true);  // added after schema 1: created where missing
  txn.commit();
  m_writer = std::thread([this] { writer_loop(); });
}

Store::~Store() {
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_stopping = true;
  }
  m_cv.notify_all();
  if (m_writer.joinable()) m_writer.join();
}

// ---- group commit -----------------------------------------------------------

void Store::enqueue(std::function<void(Txn&)> apply, Done done) {
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_pending.push_back(Op{std::move(apply), std::move(done)});
    ++m_enqueued;
  }
  m_cv.notify_one();
}

void Store::writer_loop() {
  std::vector<Op> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(m_mutex);
      m_cv.wait(lock, [&] { return !m_pending.empty() || m_stopping; });
      if (m_pending.empty() && m_stopping) return;
      batch.swap(m_pending);
    }
    // A commit that fails for a full map or disk leaves the store as it was (LMDB's commit is all or
    // nothing); the writes are refused with storage_full and the next batch tries again.
    std::vector<WriteError> errors(batch.size());
    auto failed = [this](const std::exception& e) {
      WriteError w;
      const auto* err = dynamic_cast<const Error*>(&e);
      w.code = err ? err->code() : ErrorCode::internal;
      w.message = e.what();
      if (w.code == ErrorCode::storage_full) w.message += " (store: " + m_dir + ")";
      return w;
    };
    bool full = false;
    try {
      Txn txn(*m_env, false);
      for (auto& op : batch) op.apply(txn);
      txn.commit();
    } catch (const std::exception& first_error) {
      // One bad write must not fail the others: redo them one per transaction.
      for (std::size_t i = 0; i < batch.size(); ++i) {
        try {
          Txn txn(*m_env, false);
          batch[i].apply(txn);
          txn.commit();
        } catch (const std::exception& e) {
          errors[i] = failed(e);
          if (errors[i].code == ErrorCode::storage_full) full = true;
        }
      }
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].done) {
        auto done = std::move(batch[i].done);
        WriteError err = std::move(errors[i]);
        m_post([done = std::move(done), err = std::move(err)] { done(err); });
      }
    }
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_applied += batch.size();
      ++m_commits;
      if (full && !m_full) spdlog::error("store {}: full, writes are refused until there is room", m_dir);
      if (!full && m_full) spdlog::info("store {}: writable again", m_dir);
      m_full = full;
    }
    m_flushed_cv.notify_all();
    batch.clear();
  }
}

void Store::flush() {
  std::unique_lock<std::mutex> lock(m_mutex);
  std::uint64_t target = m_enqueued;
  m_flushed_cv.wait(lock, [&] { return m_applied >= target; });
}

bool Store::full() const {
  std::lock_guard<std::mutex> lock(m_mutex);
  return m_full;
}

std::uint64_t Store::commits() const {
  std::lock_guard<std::mutex> lock(m_mutex);
  return m_commits;
}

std::uint64_t Store::writes() const {
  std::lock_guard<std::mutex> lock(m_mutex);
  return m_applied;
}

// ---- jobs ---------------------------------------------------------------------

void Store::put_job(const JobInfo& info, const nlohmann::json* config, const nlohmann::json* result, Done done) {
  std::string config_text = config ? config->dump() : std::string();
  std::string result_text = result ? result->dump() : std::string();
  bool has_config = config != nullptr, has_result = result != nullptr;
  StoredJob job = to_record(info);
  enqueue(
      [this, job, config_text = std::move(config_text), result_text = std::move(result_text), has_config,
       has_result](Txn& txn) {
        const Dbs& d = *m_dbs;
        std::string_view old_text;
        if (txn.get(d.jobs, job.id, old_text)) {
          StoredJob old = decode_job(old_text);
          if (old.state != job.state) {
            txn.del(d.by_state, state_key(old));
            txn.del(d.by_ctx_state, ctx_state_key(old));
          }
        } else {
          txn.put(d.by_seq, be64(job.seq), job.id);
          txn.put(d.by_context, context_key(job), job.id);
          if (!job.key.empty()) txn.put(d.keys, job.key, job.id);
          // Owed from the submission on: a callback survives a daemon restart.
          if (!job.callback_url.empty()) txn.put(d.callbacks, job.id, job.callback_url);
        }
        txn.put(d.jobs, job.id, encode(job));
        txn.put(d.by_state, state_key(job), job.id);
        txn.put(d.by_ctx_state, ctx_state_key(job), job.id);
        if (is_final_job_state(job.state)) txn.put(d.finished, be64(job.seq), job.id);
        if (has_config) txn.put(d.job_config, job.id, config_text);
        if (has_result) txn.put(d.job_result, job.id, result_text);
      },
      std::move(done));
}

std::optional<JobInfo> Store::get_job(const std::string& id) const {
  Txn txn(*m_env, true);
  std::string_view v;
  if (!txn.get(m_dbs->jobs, id, v)) return std::nullopt;
  return to_wire(decode_job(v));
}

std::optional<nlohmann::json> Store::get_job_config(const std::string& id) const {
  Txn txn(*m_env, true);
  std::string_view v;
  if (!txn.get(m_dbs->job_config, id, v)) return std::nullopt;
  return nlohmann::json::parse(v);
}

std::optional<nlohmann::json> Store::get_job_result(const std::string& id) const {
  Txn txn(*m_env, true);
  std::string_view v;
  if (!txn.get(m_dbs->job_result, id, v)) return std::nullopt;
  return nlohmann::json::parse(v);
}

std::optional<std::string> Store::job_id_by_key(const std::string& key) const {
  Txn txn(*m_env, true);
  std::string id;
  if (!txn.get(m_dbs->keys, key, id)) return std::nullopt;
  return id;
}

// Walks one index backwards from the page's upper bound: reads `limit` entries
// (plus the B-tree descent), whatever the length of the history.
std::vector<JobInfo> Store::list_jobs(const JobListArgs& args) const {
  const Dbs& d = *m_dbs;
  MDB_dbi db = d.by_seq;
  std::string prefix;
  if (!args.context.empty() && !args.state.empty()) {
    db = d.by_ctx_state;
    prefix = joined(joined(args.context, args.state), "");
  } else if (!args.context.empty()) {
    db = d.by_context;
    prefix = joined(args.context, "");
  } else if (!args.state.empty()) {
    db = d.by_state;
    prefix = joined(args.state, "");
  }
  const std::uint64_t upper = args.before_seq ? args.before_seq : UINT64_MAX;
  const std::size_t limit = args.limit > 0 ? static_cast<std::size_t>(args.limit) : 50;

  Txn txn(*m_env, true);
  Cursor cur(txn, db);
  bool ok = cur.seek(prefix + be64(upper)) ? cur.prev() : cur.last();
  std::vector<std::string> ids;
  while (ok && ids.size() < limit) {
    std::string_view k = cur.key();
    if (k.size() != prefix.size() + 8 || k.substr(0, prefix.size()) != prefix) break;
    if (from_be64(k.substr(prefix.size())) < upper) ids.emplace_back(cur.value());
    ok = cur.prev();
  }
  return load_jobs(txn, d, ids);
}

std::vector<JobInfo> Store::jobs_in_state(const std::string& state) const {
  const std::string prefix = joined(state, "");
  Txn txn(*m_env, true);
  Cursor cur(txn, m_dbs->by_state);
  std::vector<std::string> ids;
  for (bool ok = cur.seek(prefix); ok && starts_with(cur.key(), prefix); ok = cur.next()) {
    ids.emplace_back(cur.value());
  }
  return load_jobs(txn, *m_dbs, ids);
}

std::uint64_t Store::count_jobs_in_state(const std::string& state) const {
  const std::string prefix = joined(state, "");
  Txn txn(*m_env, true);
  Cursor cur(txn, m_dbs->by_state);
  std::uint64_t n = 0;
  for (bool ok = cur.seek(prefix); ok && starts_with(cur.key(), prefix); ok = cur.next()) ++n;
  return n;
}

std::uint64_t Store::last_job_seq() const {
  Txn txn(*m_env, true);
  Cursor cur(txn, m_dbs->by_seq);
  return cur.last() ? from_be64(cur.key()) : 0;
}

std::uint64_t Store::job_count() const {
  Txn txn(*m_env, true);
  return txn.count(m_dbs->jobs);
}

std::vector<std::string> Store::pending_callbacks() const {
  Txn txn(*m_env, true);
  Cursor cur(txn, m_dbs->callbacks);
  std::vector<std::string> ids;
  for (bool ok = cur.first(); ok; ok = cur.next()) ids.emplace_back(cur.key());
  return ids;
}

void Store::callback_done(const std::string& job_id, Done done) {
  enqueue([this, job_id](Txn& txn) { txn.del(m_dbs->callbacks, job_id); }, std::move(done));
}

void Store::apply_retention(const RetentionPolicy& policy, std::function<void(std::vector<std::string>)> removed) {
  auto ids = std::make_shared<std::vector<std::string>>();
  enqueue(
      [this, policy, ids](Txn& txn) {
        const Dbs& d = *m_dbs;
        std::size_t finished = txn.count(d.finished);
        const std::int64_t cutoff = policy.max_age_ms > 0 ? now_ms() - policy.max_age_ms : 0;
        std::vector<StoredJob> doomed;
        {
          Cursor cur(txn, d.finished);
          for (bool ok = cur.first(); ok; ok = cur.next()) {
            bool over_count = policy.max_jobs > 0 && finished - doomed.size() > policy.max_jobs;
            std::string_view v;
            if (!txn.get(d.jobs, cur.value(), v)) continue;
            StoredJob j = decode_job(v);
            bool too_old = cutoff > 0 && j.ended_ms > 0 && j.ended_ms < cutoff;
            // Finished jobs are walked in submission order, which is close to
            // their end order: stop at the first one the policy keeps.
            if (!over_count && !too_old) break;
            doomed.push_back(std::move(j));
          }
        }
        ids->clear();
        for (const auto& j : doomed) {
          delete_job(txn, d, j);
          ids->push_back(j.id);
        }
      },
      [ids, removed = std::move(removed)](const WriteError&) {
        if (removed) removed(*ids);
      });
}

// ---- binaries -------------------------------------------------------------------

void Store::put_binary(const BinaryInfo& binary, Done done) {
  enqueue(
      [this, b = to_record(binary)](Txn& txn) {
        txn.put(m_dbs->binaries, joined(b.name, be32(static_cast<std::uint32_t>(b.version))), encode(b));
      },
      std::move(done));
}

void Store::delete_binary(const std::string& name, int version, Done done) {
  enqueue(
      [this, name, version](Txn& txn) {
        const std::string prefix = joined(name, "");
        std::vector<std::string> keys;
        {
          Cursor cur(txn, m_dbs->binaries);
          for (bool ok = cur.seek(prefix); ok && starts_with(cur.key(), prefix); ok = cur.next()) {
            auto b = decode_binary(cur.value());
            if (version == 0 || b.version == version) keys.emplace_back(cur.key());
          }
        }
        for (const auto& k : keys) txn.del(m_dbs->binaries, k);
      },
      std::move(done));
}

std::vector<BinaryInfo> Store::binary_versions(const std::string& name) const {
  const std::string prefix = joined(name, "");
  Txn txn(*m_env, true);
  Cursor cur(txn, m_dbs->binaries);
  std::vector<BinaryInfo> out;
  for (bool ok = cur.seek(prefix); ok && starts_with(cur.key(), prefix); ok = cur.next()) {
    out.push_back(to_wire(decode_binary(cur.value())));
  }
  for (auto& b : out) b.versions = static_cast<int>(out.size());
  return out;
}

std::vector<BinaryInfo> Store::list_binaries() const {
  Txn txn(*m_env, true);
  Cursor cur(txn, m_dbs->binaries);
  std::vector<BinaryInfo> out;
  for (bool ok = cur.first(); ok; ok = cur.next()) {
    auto b = to_wire(decode_binary(cur.value()));
    if (!out.empty() && out.back().name == b.name) {
      b.versions = out.back().versions + 1;
      out.back() = std::move(b);
    } else {
      b.versions = 1;
      out.push_back(std::move(b));
    }
  }
  return out;
}

bool Store::blob_referenced(const std::string& sha256) const {
  Txn txn(*m_env, true);
  Cursor cur(txn, m_dbs->binaries);
  for (bool ok = cur.first(); ok; ok = cur.next()) {
    if (decode_binary(cur.value()).sha256 == sha256) return true;
  }
  return false;
}

// ---- contexts ---------------------------------------------------------------------

void Store::put_context(const ContextInfo& context, Done done) {
  enqueue([this, c = to_record(context)](Txn& txn) { txn.put(m_dbs->contexts, c.name, encode(c)); },
          std::move(done));
}

void Store::delete_context(const std::string& name, Done done) {
  enqueue([this, name](Txn& txn) { txn.del(m_dbs->contexts, name); }, std::move(done));
}

std::vector<ContextInfo> Store::list_contexts() const {
  Txn txn(*m_env, true);
  Cursor cur(txn, m_dbs->contexts);
  std::vector<ContextInfo> out;
  for (bool ok = cur.first(); ok; ok = cur.next()) out.push_back(to_wire(decode_context(cur.value())));
  return out;
}

std::optional<ContextInfo> Store::get_context(const std::string& name) const {
  Txn txn(*m_env, true);
  std::string_view v;
  if (!txn.get(m_dbs->contexts, name, v)) return std::nullopt;
  return to_wire(decode_context(v));
}

// ---- clusters -----------------------------------------------------------------------

void Store::put_cluster(const std::string& name, const nlohmann::json& record, Done done) {
  enqueue([this, name, text = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)](Txn& txn) {
    txn.put(m_dbs->clusters, name, text);
  },
          std::move(done));
}

void Store::delete_cluster(const std::string& name, Done done) {
  enqueue([this, name](Txn& txn) { txn.del(m_dbs->clusters, name); }, std::move(done));
}

std::vector<nlohmann::json> Store::list_clusters() const {
  Txn txn(*m_env, true);
  Cursor cur(txn, m_dbs->clusters);
  std::vector<nlohmann::json> out;
  for (bool ok = cur.first(); ok; ok = cur.next()) {
    const auto v = cur.value();
    auto j = nlohmann::json::parse(v.begin(), v.end(), nullptr, false);
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

}  // namespace sjs::store

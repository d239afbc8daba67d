#include "store/lmdb.hpp"

#include "sjs/errors.hpp"
#include "sjs/util.hpp"

namespace sjs::store {
namespace {
MDB_val to_val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
}  // namespace

void check_mdb(int rc, const char* what) {
  if (rc == MDB_SUCCESS) return;
  // Full: nothing of the transaction is stored. The caller names the store's directory.
  if (rc == MDB_MAP_FULL) {
    throw Error(ErrorCode::storage_full,
                "storage full: the store reached its size limit, store.map-size-mb in sjsd.conf: raise it and "
                "restart sjsd, or make room (delete binaries, or lower retention.max-jobs)");
  }
  if (is_disk_full(rc)) {
    throw Error(ErrorCode::storage_full, std::string("storage full: the store cannot grow: ") + mdb_strerror(rc) +
                                             ": free space on the disk of sjsd's data dir (sjsd goes on by itself "
                                             "once there is)");
  }
  throw Error(ErrorCode::internal, std::string("store: ") + what + " failed: " + mdb_strerror(rc));
}

Env::Env(const std::string& dir, std::size_t map_size, unsigned max_dbs) {
  check_mdb(mdb_env_create(&m_env), "mdb_env_create");
  try {
    check_mdb(mdb_env_set_maxdbs(m_env, max_dbs), "mdb_env_set_maxdbs");
    check_mdb(mdb_env_set_mapsize(m_env, map_size), "mdb_env_set_mapsize");
    check_mdb(mdb_env_set_maxreaders(m_env, 126), "mdb_env_set_maxreaders");
    // MDB_NOTLS: read transactions are not tied to threads. Full durability:
    // no MDB_NOSYNC / MDB_NOMETASYNC, every commit is on disk when it returns.
    check_mdb(mdb_env_open(m_env, dir.c_str(), MDB_NOTLS, 0600), "mdb_env_open");
  } catch (...) {
    mdb_env_close(m_env);
    throw;
  }
}

Env::~Env() {
  if (m_env) mdb_env_close(m_env);
}

Txn::Txn(const Env& env, bool read_only) {
  check_mdb(mdb_txn_begin(env.get(), nullptr, read_only ? MDB_RDONLY : 0, &m_txn), "mdb_txn_begin");
}

Txn::~Txn() {
  if (m_txn) mdb_txn_abort(m_txn);
}

void Txn::commit() {
  MDB_txn* t = m_txn;
  m_txn = nullptr;
  check_mdb(mdb_txn_commit(t), "mdb_txn_commit");
}

MDB_dbi Txn::open_db(const char* name, bool create) {
  MDB_dbi dbi = 0;
  check_mdb(mdb_dbi_open(m_txn, name, create ? MDB_CREATE : 0, &dbi), "mdb_dbi_open");
  return dbi;
}

bool Txn::get(MDB_dbi db, std::string_view key, std::string_view& value) const {
  // A key LMDB cannot hold (empty, or past its size limit) is not there: a lookup
  // by an empty or huge job id is "not found", not an internal error.
  if (key.empty() || key.size() > static_cast<std::size_t>(mdb_env_get_maxkeysize(mdb_txn_env(m_txn)))) return false;
  MDB_val k = to_val(key), v{};
  int rc = mdb_get(m_txn, db, &k, &v);
  if (rc == MDB_NOTFOUND) return false;
  check_mdb(rc, "mdb_get");
  value = std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
  return true;
}

bool Txn::get(MDB_dbi db, std::string_view key, std::string& value) const {
  std::string_view v;
  if (!get(db, key, v)) return false;
  value.assign(v);
  return true;
}

void Txn::put(MDB_dbi db, std::string_view key, std::string_view value) {
  MDB_val k = to_val(key), v = to_val(value);
  check_mdb(mdb_put(m_txn, db, &k, &v, 0), "mdb_put");
}

bool Txn::del(MDB_dbi db, std::string_view key) {
  MDB_val k = to_val(key);
  int rc = mdb_del(m_txn, db, &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  check_mdb(rc, "mdb_del");
  return true;
}

std::size_t Txn::count(MDB_dbi db) const {
  MDB_stat st{};
  check_mdb(mdb_stat(m_txn, db, &st), "mdb_stat");
  return st.ms_entries;
}

Cursor::Cursor(const Txn& txn, MDB_dbi db) { check_mdb(mdb_cursor_open(txn.get(), db, &m_cursor), "mdb_cursor_open"); }
Cursor::~Cursor() {
  if (m_cursor) mdb_cursor_close(m_cursor);
}

bool Cursor::move(MDB_cursor_op op) {
  int rc = mdb_cursor_get(m_cursor, &m_key, &m_val, op);
  if (rc == MDB_NOTFOUND) return false;
  check_mdb(rc, "mdb_cursor_get");
  return true;
}

bool Cursor::first() { return move(MDB_FIRST); }
bool Cursor::last() { return move(MDB_LAST); }
bool Cursor::next() { return move(MDB_NEXT); }
bool Cursor::prev() { return move(MDB_PREV); }
bool Cursor::seek(std::string_view key) {
  m_key = to_val(key);
  return move(MDB_SET_RANGE);
}

}  // namespace sjs::store

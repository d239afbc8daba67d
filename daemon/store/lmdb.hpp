// RAII over LMDB. The only header in the project that includes lmdb.h; only
// daemon/store/ includes this header.
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace sjs::store {

// Named databases one environment may hold (store.cpp opens 13).
constexpr unsigned k_max_dbs = 16;

// Throws Error(internal) naming the failed call and LMDB's message.
void check_mdb(int rc, const char* what);

class Env {
 public:
  Env(const std::string& dir, std::size_t map_size, unsigned max_dbs);
  ~Env();
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
  MDB_env* get() const { return m_env; }

 private:
  MDB_env* m_env = nullptr;
};

// A transaction aborts unless commit() is called.
class Txn {
 public:
  Txn(const Env& env, bool read_only);
  ~Txn();
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  void commit();
  MDB_txn* get() const { return m_txn; }

  MDB_dbi open_db(const char* name, bool create);
  bool get(MDB_dbi db, std::string_view key, std::string_view& value) const;
  bool get(MDB_dbi db, std::string_view key, std::string& value) const;
  void put(MDB_dbi db, std::string_view key, std::string_view value);
  bool del(MDB_dbi db, std::string_view key);
  std::size_t count(MDB_dbi db) const;

 private:
  MDB_txn* m_txn = nullptr;
};

class Cursor {
 public:
  Cursor(const Txn& txn, MDB_dbi db);
  ~Cursor();
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  // Positioning; false when there is no such entry.
  bool first();
  bool last();
  bool next();
  bool prev();
  bool seek(std::string_view key);  // first key >= key
  std::string_view key() const { return {static_cast<const char*>(m_key.mv_data), m_key.mv_size}; }
  std::string_view value() const { return {static_cast<const char*>(m_val.mv_data), m_val.mv_size}; }

 private:
  bool move(MDB_cursor_op op);
  MDB_cursor* m_cursor = nullptr;
  MDB_val m_key{};
  MDB_val m_val{};
};

}  // namespace sjs::store

// Upgrades of the store's schema, run when sjsd opens a store written by an
// older sjsd.
//
// The schema version is the "schema" key of the "meta" database. sjsd knows
// versions 1 .. k_schema_version; migration i of the list upgrades version i+1
// to i+2, so the list has k_schema_version - 1 entries, oldest first. At open,
// every migration from the stored version on runs, in order, in the open's one
// write transaction, which also writes the new version: a store is upgraded
// completely or not at all. A store of a newer version than the list knows is
// refused (Error internal), untouched.
//
// To change the schema: bump k_schema_version (store.hpp), change the records
// (records.hpp), and append a migration that rewrites what the old version
// left; tests/unit/test_store_migration.cpp must stay green (it opens the
// schema-1 store checked in under tests/data/store-v1).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "store/lmdb.hpp"

namespace sjs::store {

struct Migration {
  int from = 0;      // upgrades a store of this schema version to from + 1
  std::string what;  // one line for the log
  // Runs inside the open's write transaction; opens the databases it needs by
  // name (Txn::open_db). Throws to abort the whole upgrade.
  std::function<void(Txn&)> apply;
};

// sjsd's own migrations, oldest first. Empty while the schema is version 1.
const std::vector<Migration>& migrations();

// The newest schema version `list` upgrades to: 1 + its size. Throws
// Error(internal) unless migration i goes from version i + 1.
int newest_schema(const std::vector<Migration>& list);

// Brings the store in `txn` to newest_schema(list): writes the version into a
// new store, runs the migrations an older one needs (each logged), refuses a
// newer one. `where` names the store in messages. Returns the version found
// (0 for a new store). Does not commit.
int migrate(Txn& txn, MDB_dbi meta, const std::vector<Migration>& list, const std::string& where);

// What Store's constructor does with migrations(), with any list: opens the
// store in the existing dir `dir` (creating its files if needed), migrates it
// in one write transaction and commits. For tests (a test-only list) and offline tools; the store must
// not be open elsewhere in this process. Returns the version found.
int upgrade_store(const std::string& dir, std::size_t map_size, const std::vector<Migration>& list);

}  // namespace sjs::store

#include "store/migrations.hpp"

#include <spdlog/spdlog.h>

#include <charconv>

#include "sjs/errors.hpp"

namespace sjs::store {

const std::vector<Migration>& migrations() {
  // Schema 1 is the first: nothing to upgrade from yet. Append here, oldest first.
  static const std::vector<Migration> list;
  return list;
}

int newest_schema(const std::vector<Migration>& list) {
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (list[i].from != static_cast<int>(i) + 1 || !list[i].apply) {
      throw Error(ErrorCode::internal, "store: migration " + std::to_string(i) + " (\"" + list[i].what +
                                           "\") must upgrade version " + std::to_string(i + 1) +
                                           " and have a function");
    }
  }
  return static_cast<int>(list.size()) + 1;
}

int migrate(Txn& txn, MDB_dbi meta, const std::vector<Migration>& list, const std::string& where) {
  const int newest = newest_schema(list);
  std::string text;
  if (!txn.get(meta, "schema", text)) {
    txn.put(meta, "schema", std::to_string(newest));
    return 0;
  }
  int found = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), found);
  if (ec != std::errc() || end != text.data() + text.size() || found < 1) {
    throw Error(ErrorCode::internal,
                "store at " + where + " has a schema version sjsd cannot read (\"" + text + "\"): use a new data dir");
  }
  if (found > newest) {
    throw Error(ErrorCode::internal, "store at " + where + " has schema version " + text +
                                         ", this sjsd reads up to version " + std::to_string(newest) +
                                         ": use a matching sjsd or a new data dir");
  }
  if (found == newest) return found;

  spdlog::info("store at {}: upgrading schema {} to {}", where, found, newest);
  for (int version = found; version < newest; ++version) {
    const Migration& m = list[static_cast<std::size_t>(version - 1)];
    spdlog::info("store: schema {} -> {}: {}", version, version + 1, m.what);
    try {
      m.apply(txn);
    } catch (const std::exception& e) {
      throw Error(ErrorCode::internal, "store at " + where + ": upgrading schema " + std::to_string(version) + " to " +
                                           std::to_string(version + 1) + " (" + m.what +
                                           ") failed, the store is unchanged: " + e.what());
    }
  }
  txn.put(meta, "schema", std::to_string(newest));
  return found;
}

int upgrade_store(const std::string& dir, std::size_t map_size, const std::vector<Migration>& list) {
  Env env(dir, map_size, k_max_dbs);
  Txn txn(env, false);
  const int found = migrate(txn, txn.open_db("meta", true), list, dir);
  txn.commit();
  return found;
}

}  // namespace sjs::store

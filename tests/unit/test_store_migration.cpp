// Stores written by older sjsd keep working: the schema-1 store checked in under
// tests/data/store-v1 (made by tests/data/make_store_v1.sh with the real sjsd)
// opens with today's Store and reads back every record as sjs showed it; and the
// migration hook (daemon/store/migrations.hpp) upgrades an older store in order,
// all or nothing, and refuses a newer one.
//
// The store-v1 tests must stay green across every future schema change: they
// compare through the Store's public API, never the stored bytes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "sjs/errors.hpp"
#include "sjs/messages.hpp"
#include "store/lmdb.hpp"
#include "store/migrations.hpp"
#include "store/store.hpp"
#include "unit_helpers.hpp"

using nlohmann::json;
using sjs::BinaryInfo;
using sjs::ContextInfo;
using sjs::ErrorCode;
using sjs::JobInfo;
using sjs::JobListArgs;
using sjs::store::Migration;
using sjs::store::Store;
using sjs::store::StoreOptions;
using sjs::store::Txn;
using sjs::test::error_from;
using sjs::test::TempDir;

namespace {

constexpr std::size_t k_map_size = std::size_t{64} << 20;
const std::string k_secret_mask = "********";

void post_inline(std::function<void()> fn) {
  fn();
}

std::string fixture_dir() {
  return std::string(SJS_SOURCE_DIR) + "/tests/data/store-v1";
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str());
}

template <typename T>
T at(const json& j, const char* key) {
  return j.at(key).get<T>();
}

// A copy of store-v1 in a temp dir, opened with today's Store (and so upgraded
// by today's migrations, whatever the schema is by then).
struct V1 {
  TempDir dir;
  json expected = read_json(fixture_dir() + "/expected.json");
  std::unique_ptr<Store> store;

  V1() {
    std::filesystem::copy_file(fixture_dir() + "/data.mdb", dir.path() + "/data.mdb");
    std::filesystem::permissions(dir.path() + "/data.mdb",
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    store = std::make_unique<Store>(StoreOptions{dir.path(), k_map_size}, post_inline);
  }
  const json& jobs() const { return expected.at("jobs"); }
};

std::vector<std::string> ids_of(const std::vector<JobInfo>& jobs) {
  std::vector<std::string> out;
  for (const auto& j : jobs) out.push_back(j.id);
  return out;
}

// Every field of a job as `sjs --json job status` showed it when the store was written.
void check_job(const JobInfo& got, const json& want) {
  INFO("job " << want.dump());
  CHECK(got.id == at<std::string>(want, "id"));
  CHECK(got.seq == at<std::uint64_t>(want, "seq"));
  CHECK(got.binary == at<std::string>(want, "binary"));
  CHECK(got.binary_version == at<int>(want, "binary_version"));
  CHECK(got.binary_type == at<std::string>(want, "binary_type"));
  CHECK(got.entry == at<std::string>(want, "entry"));
  CHECK(got.args == at<std::vector<std::string>>(want, "args"));
  CHECK(got.dependencies == at<std::vector<std::string>>(want, "dependencies"));
  CHECK(got.context == at<std::string>(want, "context"));
  CHECK(got.adhoc == at<bool>(want, "adhoc"));
  CHECK(got.runtime == at<std::string>(want, "runtime"));
  CHECK(got.state == at<std::string>(want, "state"));
  CHECK(got.priority == at<int>(want, "priority"));
  CHECK(got.key == at<std::string>(want, "key"));
  CHECK(got.timeout_s == at<double>(want, "timeout_s"));
  CHECK(got.submitted_ms == at<std::int64_t>(want, "submitted_ms"));
  CHECK(got.started_ms == at<std::int64_t>(want, "started_ms"));
  CHECK(got.ended_ms == at<std::int64_t>(want, "ended_ms"));
  CHECK(got.exit_status == at<int>(want, "exit_status"));
  CHECK(got.signal == at<int>(want, "signal"));
  CHECK(got.error == want.at("error"));
  CHECK(got.end_reason == at<std::string>(want, "end_reason"));
  CHECK(got.has_result == at<bool>(want, "has_result"));
  CHECK(got.pid == at<int>(want, "pid"));
  CHECK(got.callback_url == at<std::string>(want, "callback_url"));
}

void check_binary(const BinaryInfo& got, const json& want) {
  INFO("binary " << want.dump());
  CHECK(got.name == at<std::string>(want, "name"));
  CHECK(got.version == at<int>(want, "version"));
  CHECK(got.type == at<std::string>(want, "type"));
  CHECK(got.size == at<std::uint64_t>(want, "size"));
  CHECK(got.sha256 == at<std::string>(want, "sha256"));
  CHECK(got.uploaded_ms == at<std::int64_t>(want, "uploaded_ms"));
  CHECK(got.versions == at<int>(want, "versions"));
}

// `shown` is what sjs printed, with secret-looking values as ********: the store
// keeps the real value there, anything else must be equal. Counts the masks seen.
void check_unmasked(const json& stored, const json& shown, const std::string& path, int& masks) {
  INFO("at " << path);
  if (shown.is_string() && shown.get<std::string>() == k_secret_mask) {
    ++masks;
    CHECK(stored.is_string());
    CHECK(stored != shown);
    return;
  }
  if (shown.is_object()) {
    REQUIRE(stored.is_object());
    CHECK(stored.size() == shown.size());
    for (auto it = shown.begin(); it != shown.end(); ++it) {
      REQUIRE(stored.contains(it.key()));
      check_unmasked(stored.at(it.key()), it.value(), path + "." + it.key(), masks);
    }
    return;
  }
  CHECK(stored == shown);
}

// The ids of `jobs` (expected.json) passing `keep`, newest (highest seq) first.
template <typename Keep>
std::vector<std::string> newest_first(const json& jobs, Keep keep) {
  std::vector<std::pair<std::uint64_t, std::string>> picked;
  for (const auto& j : jobs) {
    if (keep(j)) picked.emplace_back(at<std::uint64_t>(j, "seq"), at<std::string>(j, "id"));
  }
  std::sort(picked.rbegin(), picked.rend());
  std::vector<std::string> out;
  for (auto& p : picked) out.push_back(p.second);
  return out;
}

JobListArgs listing(const std::string& state, const std::string& context, int limit = 1000, std::uint64_t before = 0) {
  JobListArgs a;
  a.state = state;
  a.context = context;
  a.limit = limit;
  a.before_seq = before;
  return a;
}

// The raw "schema" value of a closed store.
std::string raw_schema(const std::string& dir) {
  sjs::store::Env env(dir, k_map_size, sjs::store::k_max_dbs);
  Txn txn(env, true);
  std::string value;
  REQUIRE(txn.get(txn.open_db("meta", false), "schema", value));
  return value;
}

// A raw value of "meta" in a closed store, "" if there is none (or no "meta" yet).
std::string raw_meta(const std::string& dir, const std::string& key) {
  sjs::store::Env env(dir, k_map_size, sjs::store::k_max_dbs);
  Txn txn(env, true);
  MDB_dbi meta = 0;
  if (mdb_dbi_open(txn.get(), "meta", 0, &meta) != MDB_SUCCESS) return "";
  std::string value;
  txn.get(meta, key, value);
  return value;
}

// A test migration that appends its name to meta "trail", so the order they ran in shows.
Migration trail_migration(int from, const std::string& name) {
  return Migration{from, "test: " + name, [name](Txn& txn) {
                     MDB_dbi meta = txn.open_db("meta", false);
                     std::string trail;
                     txn.get(meta, "trail", trail);
                     txn.put(meta, "trail", trail.empty() ? name : trail + "," + name);
                   }};
}

JobInfo make_job(std::uint64_t seq, const std::string& state) {
  JobInfo j;
  j.id = "job-" + std::to_string(seq);
  j.seq = seq;
  j.binary = "bin";
  j.binary_version = 1;
  j.binary_type = "exec";
  j.context = "ctx";
  j.runtime = "exec";
  j.state = state;
  return j;
}

}  // namespace

// ------------------------------------------------------------- store-v1

TEST_CASE("store-v1: the checked-in store holds jobs in every state, binaries, contexts, a key and a callback",
          "[store]") {
  // Guards the fixture itself: the other store-v1 tests are only as good as what it holds.
  const json expected = read_json(fixture_dir() + "/expected.json");
  CHECK(expected.at("schema") == "1");
  std::set<std::string> states;
  for (const auto& j : expected.at("jobs")) states.insert(at<std::string>(j, "state"));
  CHECK(states == std::set<std::string>{"QUEUED", "RUNNING", "FINISHED", "ERROR", "KILLED"});
  CHECK(expected.at("results").size() >= 3);
  CHECK(expected.at("keys").size() == 1);
  CHECK(expected.at("pending_callbacks").size() == 1);
  CHECK(expected.at("binaries").at("tool").at("versions").size() == 2);
  CHECK(expected.at("contexts").size() == 2);
  int with_dependencies = 0;
  for (const auto& j : expected.at("jobs")) with_dependencies += j.at("dependencies").empty() ? 0 : 1;
  CHECK(with_dependencies == 1);
  CHECK(std::filesystem::file_size(fixture_dir() + "/data.mdb") < 256 * 1024);
}

TEST_CASE("store-v1: every job reads back by id as sjs showed it when the store was written", "[store]") {
  V1 v1;
  std::uint64_t last_seq = 0;
  for (const auto& want : v1.jobs()) {
    auto got = v1.store->get_job(at<std::string>(want, "id"));
    REQUIRE(got.has_value());
    check_job(*got, want);
    last_seq = std::max(last_seq, at<std::uint64_t>(want, "seq"));
  }
  CHECK(v1.store->job_count() == v1.jobs().size());
  CHECK(v1.store->last_job_seq() == last_seq);
}

TEST_CASE("store-v1: every listing index gives the jobs newest first, as sjs listed them", "[store]") {
  V1 v1;
  const json& jobs = v1.jobs();
  auto all = v1.store->list_jobs(listing("", ""));
  CHECK(ids_of(all) == at<std::vector<std::string>>(v1.expected, "listing"));
  CHECK(ids_of(all) == newest_first(jobs, [](const json&) { return true; }));
  for (std::size_t i = 0; i < all.size(); ++i) check_job(all[i], jobs.at(jobs.size() - 1 - i));

  std::set<std::string> states, contexts;
  for (const auto& j : jobs) {
    states.insert(at<std::string>(j, "state"));
    contexts.insert(at<std::string>(j, "context"));
  }
  for (const auto& state : states) {
    INFO("state " << state);
    auto want = newest_first(jobs, [&](const json& j) { return j.at("state") == state; });
    CHECK(ids_of(v1.store->list_jobs(listing(state, ""))) == want);
    auto oldest_first = ids_of(v1.store->jobs_in_state(state));
    CHECK(std::vector<std::string>(oldest_first.rbegin(), oldest_first.rend()) == want);
    CHECK(v1.store->count_jobs_in_state(state) == want.size());
  }
  for (const auto& context : contexts) {
    INFO("context " << context);
    CHECK(ids_of(v1.store->list_jobs(listing("", context))) ==
          newest_first(jobs, [&](const json& j) { return j.at("context") == context; }));
    for (const auto& state : states) {
      INFO("state " << state);
      CHECK(ids_of(v1.store->list_jobs(listing(state, context))) ==
            newest_first(jobs, [&](const json& j) { return j.at("context") == context && j.at("state") == state; }));
    }
  }
  // Paging: two at a time, each page before the last one's oldest seq.
  std::vector<std::string> paged;
  std::uint64_t before = 0;
  for (;;) {
    auto page = v1.store->list_jobs(listing("", "", 2, before));
    if (page.empty()) break;
    for (const auto& j : page) paged.push_back(j.id);
    before = page.back().seq;
  }
  CHECK(paged == at<std::vector<std::string>>(v1.expected, "listing"));
}

TEST_CASE("store-v1: every job's config and result read back, secrets as submitted", "[store]") {
  V1 v1;
  int masks = 0;
  for (auto it = v1.expected.at("configs").begin(); it != v1.expected.at("configs").end(); ++it) {
    auto config = v1.store->get_job_config(it.key());
    REQUIRE(config.has_value());
    check_unmasked(*config, it.value(), it.key(), masks);
  }
  CHECK(masks >= 1);  // the fixture has a secret-looking config key; the store keeps its value
  CHECK(v1.expected.at("configs").size() == v1.jobs().size());
  for (auto it = v1.expected.at("results").begin(); it != v1.expected.at("results").end(); ++it) {
    INFO("job " << it.key());
    auto result = v1.store->get_job_result(it.key());
    REQUIRE(result.has_value());
    CHECK(*result == it.value());
  }
}

TEST_CASE("store-v1: every binary version reads back, listed and counted", "[store]") {
  V1 v1;
  std::size_t versions = 0;
  for (auto it = v1.expected.at("binaries").begin(); it != v1.expected.at("binaries").end(); ++it) {
    const json& want = it.value().at("versions");
    auto got = v1.store->binary_versions(it.key());
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      check_binary(got[i], want.at(i));
      CHECK(v1.store->blob_referenced(got[i].sha256));
    }
    versions += got.size();
  }
  CHECK(versions == 4);
  const json& want_list = v1.expected.at("binary_list").at("binaries");
  auto list = v1.store->list_binaries();
  REQUIRE(list.size() == want_list.size());
  for (std::size_t i = 0; i < list.size(); ++i) check_binary(list[i], want_list.at(i));
}

TEST_CASE("store-v1: every named context reads back with its settings intact", "[store]") {
  V1 v1;
  std::vector<std::string> names;
  for (const auto& c : v1.store->list_contexts()) names.push_back(c.name);
  std::vector<std::string> want_names;
  for (auto it = v1.expected.at("contexts").begin(); it != v1.expected.at("contexts").end(); ++it) {
    want_names.push_back(it.key());
  }
  CHECK(names == want_names);  // both by name
  int masks = 0;
  for (auto it = v1.expected.at("contexts").begin(); it != v1.expected.at("contexts").end(); ++it) {
    const json& want = it.value();
    INFO("context " << want.dump());
    auto got = v1.store->get_context(it.key());
    REQUIRE(got.has_value());
    CHECK(got->name == at<std::string>(want, "name"));
    CHECK(got->id == at<std::string>(want, "id"));
    CHECK(got->runtime == at<std::string>(want, "runtime"));
    CHECK(got->max_jobs == at<int>(want, "max_jobs"));
    CHECK(got->adhoc == at<bool>(want, "adhoc"));
    CHECK(got->created_ms == at<std::int64_t>(want, "created_ms"));
    CHECK(got->started_ms == at<std::int64_t>(want, "started_ms"));
    CHECK(got->stopped_ms == at<std::int64_t>(want, "stopped_ms"));
    CHECK(got->state == at<std::string>(want, "state"));
    CHECK(got->error == at<std::string>(want, "error"));
    check_unmasked(got->settings, want.at("settings"), it.key() + ".settings", masks);
  }
  CHECK(v1.store->get_context("etl")->settings.at("env").at("DB_PASSWORD") == "x");
}

TEST_CASE("store-v1: the idempotency key finds its job and the owed callback is still owed", "[store]") {
  V1 v1;
  for (auto it = v1.expected.at("keys").begin(); it != v1.expected.at("keys").end(); ++it) {
    INFO("key " << it.key());
    CHECK(v1.store->job_id_by_key(it.key()) == std::optional<std::string>(it.value().get<std::string>()));
  }
  CHECK_FALSE(v1.store->job_id_by_key("no-such-key").has_value());
  CHECK(v1.store->pending_callbacks() == at<std::vector<std::string>>(v1.expected, "pending_callbacks"));
}

TEST_CASE("store-v1: an opened old store takes new writes into the same indexes", "[store]") {
  V1 v1;
  const std::string queued = at<std::vector<std::string>>(v1.expected, "pending_callbacks").at(0);
  JobInfo job = *v1.store->get_job(queued);
  REQUIRE(job.state == sjs::job_state::k_queued);
  job.state = sjs::job_state::k_finished;
  json result = {{"after", "upgrade"}};
  v1.store->put_job(job, nullptr, &result);
  v1.store->callback_done(queued);
  JobInfo fresh = make_job(v1.store->last_job_seq() + 1, sjs::job_state::k_queued);
  fresh.context = job.context;
  v1.store->put_job(fresh, nullptr, nullptr);
  v1.store->flush();

  CHECK(v1.store->count_jobs_in_state(sjs::job_state::k_queued) == 1);
  CHECK(ids_of(v1.store->list_jobs(listing(sjs::job_state::k_queued, job.context))) ==
        std::vector<std::string>{fresh.id});
  CHECK(ids_of(v1.store->list_jobs(listing("", "", 1))) == std::vector<std::string>{fresh.id});
  CHECK(v1.store->get_job_result(queued) == std::optional<json>(result));
  CHECK(v1.store->get_job_config(queued).has_value());  // kept from before
  CHECK(v1.store->pending_callbacks().empty());
}

// ------------------------------------------------------------- migrations

TEST_CASE("store migrations: sjsd's own list reaches k_schema_version", "[store]") {
  CHECK(sjs::store::newest_schema(sjs::store::migrations()) == sjs::store::k_schema_version);
}

TEST_CASE("store migrations: an older store runs each missing migration once, in order, and keeps its records",
          "[store]") {
  TempDir dir;
  {
    Store store(StoreOptions{dir.path(), k_map_size}, post_inline);  // schema 1
    store.put_job(make_job(1, sjs::job_state::k_finished), nullptr, nullptr);
  }
  // 1 -> 2 rewrites every job record, as a real migration would; 2 -> 3 only leaves a trail.
  std::vector<Migration> list = {
      Migration{1, "test: mark every job",
                [](Txn& txn) {
                  MDB_dbi jobs = txn.open_db("jobs", false);
                  std::vector<std::pair<std::string, std::string>> rewritten;
                  {
                    sjs::store::Cursor cur(txn, jobs);
                    for (bool ok = cur.first(); ok; ok = cur.next()) {
                      json record = json::parse(cur.value());
                      record["migrated"] = true;
                      rewritten.emplace_back(std::string(cur.key()), record.dump());
                    }
                  }
                  for (const auto& [id, text] : rewritten) txn.put(jobs, id, text);
                  MDB_dbi meta = txn.open_db("meta", false);
                  txn.put(meta, "trail", "first");
                }},
      trail_migration(2, "second"),
  };
  CHECK(sjs::store::upgrade_store(dir.path(), k_map_size, list) == 1);
  CHECK(raw_schema(dir.path()) == "3");
  CHECK(raw_meta(dir.path(), "trail") == "first,second");
  {
    sjs::store::Env env(dir.path(), k_map_size, sjs::store::k_max_dbs);
    Txn txn(env, true);
    std::string record;
    REQUIRE(txn.get(txn.open_db("jobs", false), "job-1", record));
    CHECK(json::parse(record).at("migrated") == true);
  }
  // Again: already at 3, nothing runs twice.
  CHECK(sjs::store::upgrade_store(dir.path(), k_map_size, list) == 3);
  CHECK(raw_meta(dir.path(), "trail") == "first,second");
}

TEST_CASE("store migrations: a failing migration leaves the store as it was and says which one failed", "[store]") {
  TempDir dir;
  {
    Store store(StoreOptions{dir.path(), k_map_size}, post_inline);
    store.put_job(make_job(1, sjs::job_state::k_queued), nullptr, nullptr);
  }
  std::vector<Migration> list = {
      trail_migration(1, "first"),
      Migration{2, "test: breaks", [](Txn&) { throw std::runtime_error("disk on fire"); }},
  };
  auto error = error_from([&] { sjs::store::upgrade_store(dir.path(), k_map_size, list); });
  CHECK(error.code() == ErrorCode::internal);
  CHECK_THAT(error.what(), Catch::Contains("schema 2 to 3") && Catch::Contains("test: breaks") &&
                               Catch::Contains("disk on fire") && Catch::Contains(dir.path()));
  // One transaction: the first migration's write is gone too.
  CHECK(raw_schema(dir.path()) == "1");
  CHECK(raw_meta(dir.path(), "trail").empty());
  Store store(StoreOptions{dir.path(), k_map_size}, post_inline);
  CHECK(store.get_job("job-1").has_value());
}

TEST_CASE("store migrations: a store newer than the migrations reach is refused and left untouched", "[store]") {
  TempDir dir;
  std::vector<Migration> list = {trail_migration(1, "first"), trail_migration(2, "second")};
  CHECK(sjs::store::upgrade_store(dir.path(), k_map_size, list) == 0);  // new: written at 3
  CHECK(raw_schema(dir.path()) == "3");
  CHECK(raw_meta(dir.path(), "trail").empty());  // a new store needs no migration

  auto error = error_from([&] { Store store(StoreOptions{dir.path(), k_map_size}, post_inline); });
  CHECK(error.code() == ErrorCode::internal);
  CHECK_THAT(error.what(), Catch::Contains("schema version 3") && Catch::Contains("up to version 1"));
  CHECK(raw_schema(dir.path()) == "3");
}

TEST_CASE("store migrations: a migration list with a gap is refused", "[store]") {
  TempDir dir;
  std::vector<Migration> list = {trail_migration(2, "skips one")};
  auto error = error_from([&] { sjs::store::upgrade_store(dir.path(), k_map_size, list); });
  CHECK(error.code() == ErrorCode::internal);
  CHECK_THAT(error.what(), Catch::Contains("must upgrade version 1"));
  // Refused before anything was written: a new store gets no version.
  CHECK(raw_meta(dir.path(), "schema").empty());
}

// The store's own records (daemon/store/records.hpp): what a job, a context and a
// binary version look like on disk, pinned key by key, so a change to the wire
// types cannot change stored data unnoticed.
#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <set>
#include <string>

#include "sjs/errors.hpp"
#include "sjs/messages.hpp"
#include "store/lmdb.hpp"
#include "store/records.hpp"
#include "store/store.hpp"
#include "unit_helpers.hpp"

using nlohmann::json;
using sjs::BinaryInfo;
using sjs::ContextInfo;
using sjs::ErrorCode;
using sjs::JobInfo;
using sjs::store::Store;
using sjs::store::StoreOptions;
using sjs::test::error_from;
using sjs::test::TempDir;

namespace {

constexpr std::size_t k_map_size = std::size_t{64} << 20;

void post_inline(std::function<void()> fn) {
  fn();
}

// The raw value under `key` in the named database `db` of a closed store.
std::string raw_value(const std::string& dir, const char* db, const std::string& key) {
  sjs::store::Env env(dir, k_map_size, sjs::store::k_max_dbs);
  sjs::store::Txn txn(env, true);
  MDB_dbi dbi = txn.open_db(db, false);
  std::string value;
  REQUIRE(txn.get(dbi, key, value));
  return value;
}

std::set<std::string> keys_of(const json& j) {
  std::set<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.insert(it.key());
  return keys;
}

JobInfo full_job() {
  JobInfo j;
  j.id = "0190a1b2-0000-7000-8000-000000000001";
  j.seq = 7;
  j.binary = "tool";
  j.binary_version = 2;
  j.binary_type = "exec";
  j.entry = "run";
  j.args = {"ok", "--flag"};
  j.dependencies = {"lib:3"};
  j.context = "etl";
  j.adhoc = false;
  j.runtime = "exec";
  j.state = sjs::job_state::k_error;
  j.priority = 5;
  j.key = "nightly";
  j.timeout_s = 1.5;
  j.submitted_ms = 1000;
  j.started_ms = 1100;
  j.ended_ms = 1200;
  j.exit_status = 3;
  j.signal = 0;
  j.error = sjs::job_error("job process exited with status 3", "sjs.ExitStatus");
  j.end_reason = "exit";
  j.has_result = true;
  j.pid = 4242;
  j.callback_url = "http://127.0.0.1:9/cb";
  return j;
}

ContextInfo full_context() {
  ContextInfo c;
  c.name = "etl";
  c.id = "ctx-id";
  c.runtime = "exec";
  c.state = sjs::context_state::k_running;
  c.settings = {{"env", {{"REGION", "eu"}, {"DB_PASSWORD", "x"}}}, {"max-queue", 100}};
  c.max_jobs = 4;
  c.adhoc = false;
  c.created_ms = 10;
  c.started_ms = 20;
  c.stopped_ms = 30;
  c.running = 2;  // live counts: not stored
  c.queued = 3;
  c.error = "";
  return c;
}

BinaryInfo full_binary() {
  BinaryInfo b;
  b.name = "tool";
  b.version = 2;
  b.type = "exec";
  b.size = 123;
  b.sha256 = std::string(64, 'a');
  b.uploaded_ms = 99;
  b.versions = 5;  // counted from the records: not stored
  return b;
}

}  // namespace

TEST_CASE("store records: a stored job is a JSON object with exactly the schema-1 keys", "[store]") {
  TempDir dir;
  const JobInfo job = full_job();
  {
    Store store(StoreOptions{dir.path(), k_map_size}, post_inline);
    store.put_job(job, nullptr, nullptr);
  }
  const json stored = json::parse(raw_value(dir.path(), "jobs", job.id));
  // These names are on disk in every store since schema 1: a change here needs a migration.
  CHECK(keys_of(stored) ==
        std::set<std::string>{"id",          "seq",          "binary",    "binary_version", "binary_type", "entry",
                              "args",        "dependencies", "context",   "adhoc",          "runtime",     "state",
                              "priority",    "key",          "timeout_s", "submitted_ms",   "started_ms",  "ended_ms",
                              "exit_status", "signal",       "error",     "end_reason",     "has_result",  "pid",
                              "callback_url"});
  CHECK(stored.at("id") == job.id);
  CHECK(stored.at("seq") == 7);
  CHECK(stored.at("binary_version") == 2);
  CHECK(stored.at("args") == json::array({"ok", "--flag"}));
  CHECK(stored.at("dependencies") == json::array({"lib:3"}));
  CHECK(stored.at("state") == "ERROR");
  CHECK(stored.at("timeout_s") == 1.5);

  // A step pipeline's steps are added to its record, and read back.
  JobInfo pipeline = full_job();
  pipeline.id = "pipeline-1";
  pipeline.steps = json::parse(R"([["load_text", "/in.txt"], ["words"]])");
  {
    Store store(StoreOptions{dir.path(), k_map_size}, post_inline);
    store.put_job(pipeline, nullptr, nullptr);
  }
  const json stored_pipeline = json::parse(raw_value(dir.path(), "jobs", pipeline.id));
  CHECK(stored_pipeline.at("steps") == pipeline.steps);
  CHECK(keys_of(stored_pipeline).size() == keys_of(stored).size() + 1);
  {
    Store store(StoreOptions{dir.path(), k_map_size}, post_inline);
    CHECK(store.get_job(pipeline.id)->steps == pipeline.steps);
  }
  CHECK(stored.at("exit_status") == 3);
  CHECK(stored.at("error").at("errorClass") == "sjs.ExitStatus");
  CHECK(stored.at("has_result") == true);
  CHECK(stored.at("callback_url") == "http://127.0.0.1:9/cb");
}

TEST_CASE("store records: a stored context keeps its settings but not its live job counts", "[store]") {
  TempDir dir;
  {
    Store store(StoreOptions{dir.path(), k_map_size}, post_inline);
    store.put_context(full_context());
  }
  const json stored = json::parse(raw_value(dir.path(), "contexts", "etl"));
  CHECK(keys_of(stored) == std::set<std::string>{"name", "id", "runtime", "state", "settings", "max_jobs", "adhoc",
                                                 "created_ms", "started_ms", "stopped_ms", "error"});
  CHECK(stored.at("settings") == full_context().settings);  // a secret-looking value is stored as given
  CHECK(stored.at("max_jobs") == 4);
  CHECK(stored.at("state") == sjs::context_state::k_running);
}

TEST_CASE("store records: a stored binary version does not store the version count of listings", "[store]") {
  TempDir dir;
  {
    Store store(StoreOptions{dir.path(), k_map_size}, post_inline);
    store.put_binary(full_binary());
  }
  const std::string key = std::string("tool") + '\0' + std::string("\0\0\0\2", 4);
  const json stored = json::parse(raw_value(dir.path(), "binaries", key));
  CHECK(keys_of(stored) == std::set<std::string>{"name", "version", "type", "size", "sha256", "uploaded_ms"});
  CHECK(stored.at("size") == 123);
  CHECK(stored.at("sha256") == std::string(64, 'a'));
}

TEST_CASE("store records: wire -> record -> bytes -> record -> wire keeps every stored field", "[store]") {
  const JobInfo job = full_job();
  CHECK(json(to_wire(sjs::store::decode_job(encode(sjs::store::to_record(job))))) == json(job));

  ContextInfo context = full_context();
  ContextInfo back = to_wire(sjs::store::decode_context(encode(sjs::store::to_record(context))));
  context.running = context.queued = 0;
  CHECK(json(back) == json(context));

  BinaryInfo binary = full_binary();
  BinaryInfo back_binary = to_wire(sjs::store::decode_binary(encode(sjs::store::to_record(binary))));
  binary.versions = 0;
  CHECK(json(back_binary) == json(binary));
}

TEST_CASE("store records: a missing key reads as the default and an unknown key is ignored", "[store]") {
  const auto job = sjs::store::decode_job(R"({"id":"j","seq":3,"state":"QUEUED","some_future_key":[1,2]})");
  CHECK(job.id == "j");
  CHECK(job.seq == 3);
  CHECK(job.state == "QUEUED");
  CHECK(job.exit_status == -1);  // the record's default: no exit status
  CHECK(job.error.is_null());
  CHECK(job.args.empty());
  CHECK(sjs::store::decode_context(R"({"name":"c"})").max_jobs == 1);
  CHECK(sjs::store::decode_context(R"({"name":"c"})").settings == json::object());
}

TEST_CASE("store records: a value of the wrong type or a record that is not JSON is an internal error", "[store]") {
  auto bad_type = error_from([] { sjs::store::decode_job(R"({"id":"j","seq":"three"})"); });
  CHECK(bad_type.code() == ErrorCode::internal);
  CHECK_THAT(bad_type.what(), Catch::Contains("job") && Catch::Contains("\"seq\""));

  auto not_json = error_from([] { sjs::store::decode_binary("{not json"); });
  CHECK(not_json.code() == ErrorCode::internal);
  CHECK_THAT(not_json.what(), Catch::Contains("binary"));

  CHECK(error_from([] { sjs::store::decode_context("[1,2]"); }).code() == ErrorCode::internal);
}

#include <catch2/catch.hpp>

#include <lmdb.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "sjs/errors.hpp"
#include "sjs/messages.hpp"
#include "sjs/util.hpp"
#include "store/store.hpp"
#include "unit_helpers.hpp"

using nlohmann::json;
using sjs::BinaryInfo;
using sjs::ContextInfo;
using sjs::JobInfo;
using sjs::JobListArgs;
using sjs::store::RetentionPolicy;
using sjs::store::Store;
using sjs::store::StoreOptions;
using sjs::test::TempDir;
namespace job_state = sjs::job_state;

namespace {

constexpr std::size_t k_map_size = std::size_t{64} << 20;

// Runs posted callbacks at once, on the writer thread.
void post_inline(std::function<void()> fn) {
  fn();
}

std::unique_ptr<Store> open_store(const std::string& dir) {
  return std::make_unique<Store>(StoreOptions{dir, k_map_size}, post_inline);
}

JobInfo make_job(std::uint64_t seq, const std::string& state, const std::string& context = "ctx") {
  JobInfo j;
  j.id = "job-" + std::to_string(seq);
  j.seq = seq;
  j.binary = "bin";
  j.binary_version = 1;
  j.binary_type = "exec";
  j.context = context;
  j.runtime = "exec";
  j.state = state;
  j.submitted_ms = 1000 + static_cast<std::int64_t>(seq);
  if (sjs::is_final_job_state(state)) j.ended_ms = sjs::now_ms();
  return j;
}

BinaryInfo make_binary(const std::string& name, int version, const std::string& sha) {
  BinaryInfo b;
  b.name = name;
  b.version = version;
  b.type = "exec";
  b.size = 100u + static_cast<unsigned>(version);
  b.sha256 = sha;
  b.uploaded_ms = 5000 + version;
  return b;
}

std::vector<std::string> ids_of(const std::vector<JobInfo>& jobs) {
  std::vector<std::string> out;
  for (const auto& j : jobs) out.push_back(j.id);
  return out;
}

// The ids of `model` that match the filter, newest (highest seq) first: what list_jobs should answer.
std::vector<std::string> expected_listing(std::vector<JobInfo> model, const std::string& state,
                                          const std::string& context) {
  std::sort(model.begin(), model.end(), [](const JobInfo& a, const JobInfo& b) { return a.seq > b.seq; });
  std::vector<std::string> out;
  for (const auto& j : model) {
    if ((state.empty() || j.state == state) && (context.empty() || j.context == context)) out.push_back(j.id);
  }
  return out;
}

std::vector<std::string> list_ids(const Store& store, const std::string& state, const std::string& context,
                                  int limit = 1000, std::uint64_t before_seq = 0) {
  JobListArgs args;
  args.state = state;
  args.context = context;
  args.limit = limit;
  args.before_seq = before_seq;
  return ids_of(store.list_jobs(args));
}

// Runs apply_retention and waits for it; returns the ids it reported removed.
std::vector<std::string> retain(Store& store, const RetentionPolicy& policy) {
  std::vector<std::string> removed;
  bool called = false;
  store.apply_retention(policy, [&](std::vector<std::string> ids) {
    removed = std::move(ids);
    called = true;
  });
  store.flush();
  REQUIRE(called);
  std::sort(removed.begin(), removed.end());
  return removed;
}

}  // namespace

// ---------------------------------------------------------------- durability

TEST_CASE("store: jobs, configs, results, binaries and contexts survive reopening the store", "[store]") {
  TempDir dir;
  JobInfo job = make_job(7, job_state::k_finished);
  job.key = "idem";
  job.args = {"x", "y z"};
  job.has_result = true;
  const json config = {{"input", {{"string", "a b c"}}}, {"n", 3}};
  const json result = {{"count", 42}, {"words", {"a", "b"}}};
  ContextInfo ctx;
  ctx.name = "ctx";
  ctx.runtime = "exec";
  ctx.max_jobs = 3;
  ctx.settings = {{"k", "v"}};
  {
    auto store = open_store(dir.path());
    store->put_job(job, &config, &result);
    store->put_job(make_job(8, job_state::k_queued), nullptr, nullptr);
    store->put_binary(make_binary("bin", 1, "aa"));
    store->put_context(ctx);
    store->flush();
  }
  auto store = open_store(dir.path());
  auto got = store->get_job(job.id);
  REQUIRE(got.has_value());
  CHECK(json(*got) == json(job));
  CHECK(store->get_job_config(job.id) == std::optional<json>(config));
  CHECK(store->get_job_result(job.id) == std::optional<json>(result));
  CHECK(store->job_id_by_key("idem") == std::optional<std::string>(job.id));
  CHECK(store->get_job("job-8").has_value());
  CHECK_FALSE(store->get_job_config("job-8").has_value());  // stored without config
  CHECK_FALSE(store->get_job_result("job-8").has_value());
  CHECK(store->job_count() == 2);
  CHECK(store->last_job_seq() == 8);
  REQUIRE(store->binary_versions("bin").size() == 1);
  CHECK(store->binary_versions("bin")[0].sha256 == "aa");
  auto got_ctx = store->get_context("ctx");
  REQUIRE(got_ctx.has_value());
  CHECK(json(*got_ctx) == json(ctx));
}

TEST_CASE("store: the destructor commits writes still queued", "[store]") {
  TempDir dir;
  {
    auto store = open_store(dir.path());
    for (std::uint64_t s = 1; s <= 20; ++s) store->put_job(make_job(s, job_state::k_queued), nullptr, nullptr);
    // no flush()
  }
  auto store = open_store(dir.path());
  CHECK(store->job_count() == 20);
}

TEST_CASE("store: done runs only after the commit that holds the write, with an empty error on success", "[store]") {
  TempDir dir;
  auto store = open_store(dir.path());
  std::mutex mutex;
  std::vector<std::string> errors;
  std::vector<bool> visible;
  const int n = 30;
  for (int i = 1; i <= n; ++i) {
    JobInfo job = make_job(static_cast<std::uint64_t>(i), job_state::k_queued);
    const json config = {{"i", i}};
    store->put_job(job, &config, nullptr, [&, id = job.id](const std::string& error) {
      // A fresh read transaction sees the write: it was committed before `done` ran.
      bool seen = store->get_job(id).has_value() && store->get_job_config(id).has_value();
      std::lock_guard<std::mutex> lock(mutex);
      errors.push_back(error);
      visible.push_back(seen);
    });
  }
  store->flush();
  std::lock_guard<std::mutex> lock(mutex);
  REQUIRE(errors.size() == static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    INFO("write " << i);
    CHECK(errors[static_cast<std::size_t>(i)].empty());
    CHECK(visible[static_cast<std::size_t>(i)]);
  }
}

TEST_CASE("store: done is handed to post after the commit and flush waits for the commit", "[store]") {
  TempDir dir;
  std::mutex mutex;
  std::vector<std::function<void()>> posted;
  Store store(StoreOptions{dir.path(), k_map_size}, [&](std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mutex);
    posted.push_back(std::move(fn));
  });
  std::vector<std::string> results;
  ContextInfo ctx;
  ctx.name = "c";
  store.put_context(ctx, [&](const std::string& e) { results.push_back("ctx:" + e); });
  store.put_binary(make_binary("b", 1, "s"), [&](const std::string& e) { results.push_back("bin:" + e); });
  store.flush();
  CHECK(results.empty());  // callbacks wait for whoever runs the posted functions
  CHECK(store.binary_versions("b").size() == 1);
  std::vector<std::function<void()>> to_run;
  {
    std::lock_guard<std::mutex> lock(mutex);
    to_run.swap(posted);
  }
  REQUIRE(to_run.size() == 2);
  for (auto& fn : to_run) fn();
  CHECK(results == std::vector<std::string>{"ctx:", "bin:"});
}

TEST_CASE("store: a failing write reports its error to its own done and spares the others", "[store]") {
  TempDir dir;
  auto store = open_store(dir.path());
  std::mutex mutex;
  std::vector<std::pair<std::string, std::string>> done;  // id, error
  auto record = [&](const std::string& id) {
    return [&, id](const std::string& error) {
      std::lock_guard<std::mutex> lock(mutex);
      done.emplace_back(id, error);
    };
  };
  JobInfo bad = make_job(2, job_state::k_queued);
  bad.key = std::string(4000, 'k');  // over LMDB's key size limit
  store->put_job(make_job(1, job_state::k_queued), nullptr, nullptr, record("job-1"));
  store->put_job(bad, nullptr, nullptr, record("job-2"));
  store->put_job(make_job(3, job_state::k_queued), nullptr, nullptr, record("job-3"));
  store->flush();
  std::lock_guard<std::mutex> lock(mutex);
  REQUIRE(done.size() == 3);
  for (const auto& [id, error] : done) {
    INFO(id << ": " << error);
    CHECK(error.empty() == (id != "job-2"));
  }
  CHECK(store->get_job("job-1").has_value());
  CHECK_FALSE(store->get_job("job-2").has_value());  // the failed write left nothing behind
  CHECK(store->get_job("job-3").has_value());
  CHECK(list_ids(*store, "", "") == std::vector<std::string>{"job-3", "job-1"});
}

TEST_CASE("store: writes queued together are committed together (group commit)", "[store]") {
  TempDir dir;
  auto store = open_store(dir.path());
  const std::uint64_t before_writes = store->writes();
  const std::uint64_t before_commits = store->commits();
  const int n = 500;
  for (int i = 1; i <= n; ++i) {
    store->put_job(make_job(static_cast<std::uint64_t>(i), job_state::k_queued), nullptr, nullptr);
  }
  store->flush();
  const std::uint64_t writes = store->writes() - before_writes;
  const std::uint64_t commits = store->commits() - before_commits;
  INFO("writes " << writes << ", commits " << commits);
  CHECK(writes == static_cast<std::uint64_t>(n));
  CHECK(commits >= 1);
  CHECK(commits < writes);
  CHECK(store->job_count() == static_cast<std::uint64_t>(n));
}

// ---------------------------------------------------------------- job listings

TEST_CASE("store: list_jobs is newest first, filtered by state, by context or by both", "[store]") {
  TempDir dir;
  auto store = open_store(dir.path());
  const std::vector<std::string> states = {job_state::k_queued, job_state::k_running, job_state::k_finished,
                                           job_state::k_error, job_state::k_killed};
  // "c" and "cc" share a prefix: a listing of one must not show the other.
  const std::vector<std::string> contexts = {"c", "cc", "other"};
  std::vector<JobInfo> model;
  for (std::uint64_t seq = 1; seq <= 40; ++seq) {
    // Seqs with gaps and jobs put out of order, as after retention and restarts.
    std::uint64_t s = seq * 3 + (seq % 2);
    model.push_back(make_job(s, states[(seq * 7) % states.size()], contexts[seq % contexts.size()]));
  }
  std::vector<JobInfo> shuffled = model;
  std::reverse(shuffled.begin(), shuffled.end());
  for (const auto& j : shuffled) store->put_job(j, nullptr, nullptr);
  store->flush();

  CHECK(list_ids(*store, "", "") == expected_listing(model, "", ""));
  for (const auto& state : states) {
    INFO("state " << state);
    auto got = list_ids(*store, state, "");
    CHECK(!got.empty());
    CHECK(got == expected_listing(model, state, ""));
  }
  for (const auto& context : contexts) {
    INFO("context " << context);
    CHECK(list_ids(*store, "", context) == expected_listing(model, "", context));
    for (const auto& state : states) {
      INFO("state " << state);
      CHECK(list_ids(*store, state, context) == expected_listing(model, state, context));
    }
  }
  CHECK(list_ids(*store, "", "nope").empty());
  CHECK(list_ids(*store, "FINISHED", "nope").empty());
  CHECK(list_ids(*store, "NOSTATE", "").empty());

  // The listing carries the whole job.
  JobListArgs one;
  one.limit = 1;
  auto newest = store->list_jobs(one);
  REQUIRE(newest.size() == 1);
  auto newest_in_model =
      *std::max_element(model.begin(), model.end(), [](const JobInfo& a, const JobInfo& b) { return a.seq < b.seq; });
  CHECK(json(newest[0]) == json(newest_in_model));
}

TEST_CASE("store: list_jobs pages with limit and before_seq", "[store]") {
  TempDir dir;
  auto store = open_store(dir.path());
  std::vector<JobInfo> model;
  for (std::uint64_t s = 1; s <= 23; ++s) {
    model.push_back(make_job(s * 2, s % 3 ? job_state::k_finished : job_state::k_queued, s % 2 ? "a" : "b"));
  }
  for (const auto& j : model) store->put_job(j, nullptr, nullptr);
  store->flush();

  for (const std::string state : {"", "FINISHED"}) {
    for (const std::string context : {"", "a"}) {
      INFO("state [" << state << "] context [" << context << "]");
      const auto all = expected_listing(model, state, context);
      std::vector<std::string> paged;
      std::uint64_t before = 0;
      for (int page = 0; page < 100; ++page) {
        JobListArgs args;
        args.state = state;
        args.context = context;
        args.limit = 4;
        args.before_seq = before;
        auto jobs = store->list_jobs(args);
        CHECK(jobs.size() <= 4);
        if (jobs.empty()) break;
        for (const auto& j : jobs) {
          if (before) CHECK(j.seq < before);
          paged.push_back(j.id);
        }
        before = jobs.back().seq;
      }
      CHECK(paged == all);
    }
  }
  // before_seq is exclusive, and works between existing seqs too.
  CHECK(list_ids(*store, "", "", 2, 10) == std::vector<std::string>{"job-8", "job-6"});
  CHECK(list_ids(*store, "", "", 2, 9) == std::vector<std::string>{"job-8", "job-6"});
  CHECK(list_ids(*store, "", "", 5, 3) == std::vector<std::string>{"job-2"});
  CHECK(list_ids(*store, "", "", 5, 2).empty());
  CHECK(list_ids(*store, "", "", 5, 1).empty());
  // A limit of 0 (or less) means the default page of 50.
  CHECK(list_ids(*store, "", "", 0).size() == model.size());
}

TEST_CASE("store: a state change moves the job between state indexes", "[store]") {
  TempDir dir;
  auto store = open_store(dir.path());
  JobInfo job = make_job(1, job_state::k_queued, "ctx");
  store->put_job(job, nullptr, nullptr);
  store->put_job(make_job(2, job_state::k_queued, "ctx"), nullptr, nullptr);
  store->flush();
  CHECK(list_ids(*store, "QUEUED", "") == std::vector<std::string>{"job-2", "job-1"});
  CHECK(ids_of(store->jobs_in_state("QUEUED")) == std::vector<std::string>{"job-1", "job-2"});  // oldest first

  job.state = job_state::k_running;
  job.started_ms = 1234;
  store->put_job(job, nullptr, nullptr);
  store->flush();
  CHECK(list_ids(*store, "QUEUED", "") == std::vector<std::string>{"job-2"});
  CHECK(list_ids(*store, "QUEUED", "ctx") == std::vector<std::string>{"job-2"});
  CHECK(list_ids(*store, "RUNNING", "") == std::vector<std::string>{"job-1"});
  CHECK(list_ids(*store, "RUNNING", "ctx") == std::vector<std::string>{"job-1"});
  CHECK(ids_of(store->jobs_in_state("QUEUED")) == std::vector<std::string>{"job-2"});
  CHECK(ids_of(store->jobs_in_state("RUNNING")) == std::vector<std::string>{"job-1"});

  job.state = job_state::k_finished;
  job.ended_ms = 2000;
  store->put_job(job, nullptr, nullptr);
  store->flush();
  CHECK(list_ids(*store, "RUNNING", "").empty());
  CHECK(list_ids(*store, "RUNNING", "ctx").empty());
  CHECK(list_ids(*store, "FINISHED", "ctx") == std::vector<std::string>{"job-1"});
  CHECK(store->jobs_in_state("RUNNING").empty());
  // The unfiltered and per-context listings hold each job once.
  CHECK(list_ids(*store, "", "") == std::vector<std::string>{"job-2", "job-1"});
  CHECK(list_ids(*store, "", "ctx") == std::vector<std::string>{"job-2", "job-1"});
  CHECK(store->get_job("job-1")->ended_ms == 2000);
  CHECK(store->job_count() == 2);
}

TEST_CASE("store: an update without config or result keeps the stored ones", "[store]") {
  TempDir dir;
  auto store = open_store(dir.path());
  JobInfo job = make_job(1, job_state::k_running);
  const json config = {{"a", 1}};
  store->put_job(job, &config, nullptr);
  job.state = job_state::k_finished;
  job.has_result = true;
  const json result = "done";
  store->put_job(job, nullptr, &result);
  job.pid = 0;
  store->put_job(job, nullptr, nullptr);
  store->flush();
  CHECK(store->get_job_config(job.id) == std::optional<json>(config));
  CHECK(store->get_job_result(job.id) == std::optional<json>(result));
}

TEST_CASE("store: job_id_by_key, jobs_in_state and last_job_seq", "[store]") {
  TempDir dir;
  auto store = open_store(dir.path());
  CHECK(store->last_job_seq() == 0);
  CHECK(store->job_count() == 0);
  CHECK(store->jobs_in_state("QUEUED").empty());

  JobInfo a = make_job(5, job_state::k_queued);
  a.key = "key-a";
  JobInfo b = make_job(9, job_state::k_running);
  b.key = "key-b";
  JobInfo c = make_job(3, job_state::k_queued);  // an older seq put last
  store->put_job(a, nullptr, nullptr);
  store->put_job(b, nullptr, nullptr);
  store->put_job(c, nullptr, nullptr);
  store->flush();
  CHECK(store->job_id_by_key("key-a") == std::optional<std::string>(a.id));
  CHECK(store->job_id_by_key("key-b") == std::optional<std::string>(b.id));
  CHECK_FALSE(store->job_id_by_key("key-c").has_value());
  CHECK_FALSE(store->job_id_by_key("").has_value());
  CHECK(store->last_job_seq() == 9);
  CHECK(ids_of(store->jobs_in_state("QUEUED")) == std::vector<std::string>{c.id, a.id});
  CHECK(ids_of(store->jobs_in_state("RUNNING")) == std::vector<std::string>{b.id});
  CHECK(store->jobs_in_state("FINISHED").empty());
  CHECK_FALSE(store->get_job("job-404").has_value());
  // Ids and keys LMDB could never hold are simply not found.
  const std::string huge(5000, 'x');
  CHECK_FALSE(store->get_job("").has_value());
  CHECK_FALSE(store->get_job(huge).has_value());
  CHECK_FALSE(store->get_job_config(huge).has_value());
  CHECK_FALSE(store->get_job_result("").has_value());
  CHECK_FALSE(store->job_id_by_key(huge).has_value());
  CHECK_FALSE(store->get_context("").has_value());
  CHECK_FALSE(store->get_context(huge).has_value());
}

// ---------------------------------------------------------------- retention

TEST_CASE("store: retention by count keeps the newest N finished jobs and never live ones", "[store]") {
  TempDir dir;
  auto store = open_store(dir.path());
  std::vector<JobInfo> model;
  const std::vector<std::string> states = {job_state::k_queued,  job_state::k_finished, job_state::k_error,
                                           job_state::k_running, job_state::k_killed,   job_state::k_finished};
  for (std::uint64_t s = 1; s <= 24; ++s) {
    JobInfo j = make_job(s, states[s % states.size()]);
    j.key = "key-" + std::to_string(s);
    model.push_back(j);
  }
  const json result = {{"r", 1}};
  for (const auto& j : model) store->put_job(j, &result, &result);
  store->flush();

  const std::uint64_t keep = 5;
  std::vector<std::string> finished_ids_newest_first;
  for (auto it = model.rbegin(); it != model.rend(); ++it) {
    if (sjs::is_final_job_state(it->state)) finished_ids_newest_first.push_back(it->id);
  }
  REQUIRE(finished_ids_newest_first.size() > keep);
  std::vector<std::string> expected_removed(finished_ids_newest_first.begin() + keep, finished_ids_newest_first.end());
  std::sort(expected_removed.begin(), expected_removed.end());

  CHECK(retain(*store, RetentionPolicy{keep, 0}) == expected_removed);
  const std::set<std::string> removed(expected_removed.begin(), expected_removed.end());
  for (const auto& j : model) {
    INFO(j.id << " " << j.state);
    const bool gone = removed.count(j.id) > 0;
    CHECK(store->get_job(j.id).has_value() == !gone);
    CHECK(store->get_job_config(j.id).has_value() == !gone);
    CHECK(store->get_job_result(j.id).has_value() == !gone);
    CHECK(store->job_id_by_key(j.key).has_value() == !gone);
  }
  // Indexes forget them as well.
  std::vector<JobInfo> kept;
  for (const auto& j : model) {
    if (!removed.count(j.id)) kept.push_back(j);
  }
  CHECK(list_ids(*store, "", "") == expected_listing(kept, "", ""));
  CHECK(list_ids(*store, "FINISHED", "") == expected_listing(kept, "FINISHED", ""));
  CHECK(list_ids(*store, "", "ctx") == expected_listing(kept, "", "ctx"));
  CHECK(list_ids(*store, "ERROR", "ctx") == expected_listing(kept, "ERROR", "ctx"));
  CHECK(store->jobs_in_state("QUEUED").size() == 4);
  CHECK(store->jobs_in_state("RUNNING").size() == 4);
  CHECK(store->job_count() == kept.size());

  // Nothing more to do: the callback still runs, with no ids.
  CHECK(retain(*store, RetentionPolicy{keep, 0}).empty());
  // No limits at all removes nothing.
  CHECK(retain(*store, RetentionPolicy{0, 0}).empty());
  CHECK(store->job_count() == kept.size());
}

TEST_CASE("store: retention by count never removes a live job even with a limit of one", "[store]") {
  TempDir dir;
  auto store = open_store(dir.path());
  store->put_job(make_job(1, job_state::k_running), nullptr, nullptr);
  store->put_job(make_job(2, job_state::k_queued), nullptr, nullptr);
  store->put_job(make_job(3, job_state::k_finished), nullptr, nullptr);
  store->put_job(make_job(4, job_state::k_finished), nullptr, nullptr);
  store->flush();
  CHECK(retain(*store, RetentionPolicy{1, 0}) == std::vector<std::string>{"job-3"});
  CHECK(list_ids(*store, "", "") == std::vector<std::string>{"job-4", "job-2", "job-1"});
}

TEST_CASE("store: retention by age removes only jobs that ended before the cutoff", "[store]") {
  TempDir dir;
  auto store = open_store(dir.path());
  const std::int64_t hour = 3600 * 1000;
  const std::int64_t now = sjs::now_ms();
  std::vector<JobInfo> jobs;
  auto add = [&](std::uint64_t seq, const std::string& state, std::int64_t ended_ms) {
    JobInfo j = make_job(seq, state);
    j.ended_ms = ended_ms;
    jobs.push_back(j);
  };
  add(1, job_state::k_finished, now - 48 * hour);
  add(2, job_state::k_running, 0);  // live: never removed
  add(3, job_state::k_error, now - 30 * hour);
  add(4, job_state::k_queued, 0);
  add(5, job_state::k_killed, now - 25 * hour);
  add(6, job_state::k_finished, now - 23 * hour);  // inside the window
  add(7, job_state::k_finished, now - 1000);
  add(8, job_state::k_error, now);
  for (const auto& j : jobs) store->put_job(j, nullptr, nullptr);
  store->flush();

  const RetentionPolicy policy{0, 24 * hour};
  std::vector<std::string> expected_removed;
  for (const auto& j : jobs) {
    if (sjs::is_final_job_state(j.state) && j.ended_ms < now - policy.max_age_ms) expected_removed.push_back(j.id);
  }
  std::sort(expected_removed.begin(), expected_removed.end());
  REQUIRE(expected_removed.size() == 3);
  CHECK(retain(*store, policy) == expected_removed);
  CHECK(list_ids(*store, "", "") == std::vector<std::string>{"job-8", "job-7", "job-6", "job-4", "job-2"});
  CHECK(retain(*store, policy).empty());
}

TEST_CASE("store: retention by count and age together removes the union", "[store]") {
  TempDir dir;
  auto store = open_store(dir.path());
  const std::int64_t hour = 3600 * 1000;
  const std::int64_t now = sjs::now_ms();
  for (std::uint64_t s = 1; s <= 6; ++s) {
    JobInfo j = make_job(s, job_state::k_finished);
    j.ended_ms = s <= 2 ? now - 10 * hour : now;  // 1 and 2 are old
    store->put_job(j, nullptr, nullptr);
  }
  store->flush();
  // Count alone would remove job-1 (6 > 5); age removes job-1 and job-2.
  CHECK(retain(*store, RetentionPolicy{5, hour}) == std::vector<std::string>{"job-1", "job-2"});
  // Count alone: 4 left, keep 2.
  CHECK(retain(*store, RetentionPolicy{2, 0}) == std::vector<std::string>{"job-3", "job-4"});
  CHECK(list_ids(*store, "", "") == std::vector<std::string>{"job-6", "job-5"});
}

// ---------------------------------------------------------------- binaries

TEST_CASE("store: binary versions are listed oldest first, in numeric order", "[store]") {
  TempDir dir;
  auto store = open_store(dir.path());
  // Put out of order, with a version past one byte to catch string ordering.
  for (int v : {2, 256, 1, 10}) store->put_binary(make_binary("wc", v, "sha-" + std::to_string(v)));
  store->put_binary(make_binary("wc-extra", 1, "sha-x"));  // shares a prefix with "wc"
  store->put_binary(make_binary("w", 1, "sha-w"));
  store->flush();
  auto versions = store->binary_versions("wc");
  REQUIRE(versions.size() == 4);
  std::vector<int> numbers;
  for (const auto& b : versions) {
    numbers.push_back(b.version);
    CHECK(b.name == "wc");
    CHECK(b.versions == 4);
    CHECK(b.sha256 == "sha-" + std::to_string(b.version));
    CHECK(b.size == 100u + static_cast<unsigned>(b.version));
    CHECK(b.type == "exec");
  }
  CHECK(numbers == std::vector<int>{1, 2, 10, 256});
  CHECK(store->binary_versions("wc-extra").size() == 1);
  CHECK(store->binary_versions("w").size() == 1);
  CHECK(store->binary_versions("nope").empty());
}

TEST_CASE("store: list_binaries gives the newest version of each name with its version count", "[store]") {
  TempDir dir;
  auto store = open_store(dir.path());
  for (int v : {1, 2, 3}) store->put_binary(make_binary("wc", v, "sha-wc-" + std::to_string(v)));
  store->put_binary(make_binary("wc-extra", 1, "sha-x"));
  for (int v : {1, 300}) store->put_binary(make_binary("alpha", v, "sha-a-" + std::to_string(v)));
  store->flush();
  auto list = store->list_binaries();
  REQUIRE(list.size() == 3);
  std::map<std::string, BinaryInfo> by_name;
  for (const auto& b : list) by_name[b.name] = b;
  REQUIRE(by_name.size() == 3);
  CHECK(by_name["wc"].version == 3);
  CHECK(by_name["wc"].versions == 3);
  CHECK(by_name["wc"].sha256 == "sha-wc-3");
  CHECK(by_name["wc-extra"].version == 1);
  CHECK(by_name["wc-extra"].versions == 1);
  CHECK(by_name["alpha"].version == 300);
  CHECK(by_name["alpha"].versions == 2);
}

TEST_CASE("store: delete_binary removes one version or all of them and blob_referenced follows", "[store]") {
  TempDir dir;
  auto store = open_store(dir.path());
  store->put_binary(make_binary("wc", 1, "shared"));
  store->put_binary(make_binary("wc", 2, "only-v2"));
  store->put_binary(make_binary("wc", 3, "only-v3"));
  store->put_binary(make_binary("wc-extra", 1, "shared"));
  store->flush();
  CHECK(store->blob_referenced("shared"));
  CHECK(store->blob_referenced("only-v2"));
  CHECK_FALSE(store->blob_referenced("never"));

  std::string error = "not called";
  store->delete_binary("wc", 2, [&](const std::string& e) { error = e; });
  store->flush();
  CHECK(error.empty());
  std::vector<int> left;
  for (const auto& b : store->binary_versions("wc")) left.push_back(b.version);
  CHECK(left == std::vector<int>{1, 3});
  CHECK_FALSE(store->blob_referenced("only-v2"));
  CHECK(store->blob_referenced("only-v3"));

  store->delete_binary("wc", 0);  // every version
  store->flush();
  CHECK(store->binary_versions("wc").empty());
  CHECK(store->binary_versions("wc-extra").size() == 1);  // a longer name with the same prefix stays
  CHECK(store->blob_referenced("shared"));                // still used by wc-extra
  CHECK_FALSE(store->blob_referenced("only-v3"));
  REQUIRE(store->list_binaries().size() == 1);
  CHECK(store->list_binaries()[0].name == "wc-extra");

  store->delete_binary("wc-extra", 7);  // no such version: nothing happens
  store->flush();
  CHECK(store->binary_versions("wc-extra").size() == 1);
}

TEST_CASE("store: put_binary of an existing name and version replaces it", "[store]") {
  TempDir dir;
  auto store = open_store(dir.path());
  store->put_binary(make_binary("b", 1, "old"));
  store->put_binary(make_binary("b", 1, "new"));
  store->flush();
  auto versions = store->binary_versions("b");
  REQUIRE(versions.size() == 1);
  CHECK(versions[0].sha256 == "new");
}

// ---------------------------------------------------------------- contexts

TEST_CASE("store: contexts can be put, read, listed, updated and deleted", "[store]") {
  TempDir dir;
  auto store = open_store(dir.path());
  CHECK(store->list_contexts().empty());
  CHECK_FALSE(store->get_context("a").has_value());
  for (const char* name : {"zeta", "alpha", "mid"}) {
    ContextInfo c;
    c.name = name;
    c.runtime = "exec";
    c.state = sjs::context_state::k_running;
    c.settings = {{"name", name}};
    c.max_jobs = 2;
    store->put_context(c);
  }
  store->flush();
  std::vector<std::string> names;
  for (const auto& c : store->list_contexts()) names.push_back(c.name);
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"alpha", "mid", "zeta"});
  auto mid = store->get_context("mid");
  REQUIRE(mid.has_value());
  CHECK(mid->settings == json{{"name", "mid"}});
  CHECK(mid->max_jobs == 2);

  mid->state = sjs::context_state::k_stopped;
  mid->max_jobs = 5;
  store->put_context(*mid);
  std::string error = "not called";
  store->delete_context("zeta", [&](const std::string& e) { error = e; });
  store->delete_context("never-existed");
  store->flush();
  CHECK(error.empty());
  CHECK(store->get_context("mid")->state == sjs::context_state::k_stopped);
  CHECK(store->get_context("mid")->max_jobs == 5);
  CHECK_FALSE(store->get_context("zeta").has_value());
  CHECK(store->list_contexts().size() == 2);
}

// ---------------------------------------------------------------- schema

TEST_CASE("store: a store with another schema version is refused naming both versions", "[store]") {
  TempDir dir;
  { auto store = open_store(dir.path()); }  // creates a current store
  {
    // Rewrite its schema version the way a future sjsd would.
    MDB_env* env = nullptr;
    REQUIRE(mdb_env_create(&env) == MDB_SUCCESS);
    REQUIRE(mdb_env_set_maxdbs(env, 16) == MDB_SUCCESS);
    REQUIRE(mdb_env_set_mapsize(env, k_map_size) == MDB_SUCCESS);
    REQUIRE(mdb_env_open(env, dir.path().c_str(), 0, 0600) == MDB_SUCCESS);
    MDB_txn* txn = nullptr;
    REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == MDB_SUCCESS);
    MDB_dbi meta = 0;
    REQUIRE(mdb_dbi_open(txn, "meta", 0, &meta) == MDB_SUCCESS);
    MDB_val key{6, const_cast<char*>("schema")};
    MDB_val current{};
    REQUIRE(mdb_get(txn, meta, &key, &current) == MDB_SUCCESS);
    CHECK(std::string(static_cast<const char*>(current.mv_data), current.mv_size) ==
          std::to_string(sjs::store::k_schema_version));
    std::string future = std::to_string(sjs::store::k_schema_version + 41);
    MDB_val value{future.size(), future.data()};
    REQUIRE(mdb_put(txn, meta, &key, &value, 0) == MDB_SUCCESS);
    REQUIRE(mdb_txn_commit(txn) == MDB_SUCCESS);
    mdb_env_close(env);
  }
  try {
    Store store(StoreOptions{dir.path(), k_map_size}, post_inline);
    FAIL("a store with schema version " << sjs::store::k_schema_version + 41 << " was opened");
  } catch (const sjs::Error& e) {
    const std::string what = e.what();
    INFO("what(): " << what);
    CHECK_THAT(what, Catch::Contains("schema version " + std::to_string(sjs::store::k_schema_version + 41)));
    CHECK_THAT(what, Catch::Contains("version " + std::to_string(sjs::store::k_schema_version)));
    CHECK_THAT(what, Catch::Contains(dir.path()));
  }
}

TEST_CASE("store: a write past the map size fails with storage_full naming store.map-size-mb, leaves the store as "
          "it was, and the store is full() until a write fits again",
          "[store]") {
  TempDir tmp;
  Store store(StoreOptions{tmp.path() + "/s", std::size_t{1} << 20}, post_inline);
  store.put_job(make_job(1, job_state::k_queued), nullptr, nullptr);
  store.flush();
  const json big = {{"pad", std::string(4u << 20, 'x')}};  // larger than the whole map
  sjs::store::WriteError error;
  bool called = false;
  store.put_job(make_job(2, job_state::k_queued), &big, nullptr, [&](const sjs::store::WriteError& e) {
    error = e;
    called = true;
  });
  store.flush();
  REQUIRE(called);
  CHECK(error.code == sjs::ErrorCode::storage_full);
  CHECK(error.message.find("store.map-size-mb") != std::string::npos);
  CHECK(error.to_error("x").code() == sjs::ErrorCode::storage_full);
  CHECK(store.full());
  CHECK(!store.get_job("job-2"));  // nothing of it is stored
  CHECK(store.get_job("job-1"));   // what was there still is
  std::string ok = "unset";
  store.put_job(make_job(3, job_state::k_queued), nullptr, nullptr, [&](const std::string& e) { ok = e; });
  store.flush();
  CHECK(ok.empty());
  CHECK(!store.full());
}

// The daemon's state owners, each in-process on a temp store (service_fixture.hpp):
// BinaryCatalog, ContextManager, JobTable (through the Service facade that wires it),
// CallbackOutbox, Retention, JobEvents.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <boost/asio/thread_pool.hpp>

#include "binary_catalog.hpp"
#include "callback_outbox.hpp"
#include "context_manager.hpp"
#include "retention.hpp"
#include "service.hpp"
#include "service_fixture.hpp"
#include "sjs/util.hpp"

using nlohmann::json;
using namespace sjs;
using namespace sjs::test;

namespace {

const char* k_script = "#!/bin/sh\necho '{\"ok\": true}'\n";

BinaryInfo upload(Fixture& f, BinaryCatalog& catalog, const std::string& name, const std::string& text = k_script) {
  Answer<BinaryInfo> a;
  catalog.upload(BinaryUploadArgs{name, f.write(name + "-" + make_uuid(), text, true), "", ""}, false, a.reply());
  REQUIRE(f.run_until([&] { return a.done(); }));
  if (a.error) FAIL(a.error->what());
  return *a.value;
}

// Uploads the exec script k_script as binary "tool" through the service.
void upload_tool(Fixture& f, Service& service) {
  Answer<BinaryInfo> bin;
  service.upload_binary(BinaryUploadArgs{"tool", f.write("tool", k_script, true), "", ""}, false, bin.reply());
  REQUIRE(f.run_until([&] { return bin.done(); }));
  if (bin.error) FAIL(bin.error->what());
}

JobSubmitArgs submit_args(const std::string& binary, const std::string& context = "") {
  JobSubmitArgs args;
  args.binary = binary;
  args.context = context;
  args.config = json::object();
  return args;
}

}  // namespace

TEST_CASE("BinaryCatalog numbers versions, serves the newest from memory and refuses to delete one in use",
          "[owners][binaries]") {
  Fixture f;
  boost::asio::thread_pool pool{1};
  BinaryCatalog catalog(f.io, pool, *f.store, *f.blobs);
  std::vector<std::string> users;
  catalog.set_users_of([&](const std::string&, int) { return users; });

  REQUIRE(upload(f, catalog, "tool").version == 1);
  REQUIRE(catalog.latest("tool").version == 1);
  REQUIRE(upload(f, catalog, "tool", "#!/bin/sh\necho 2\n").version == 2);
  REQUIRE(catalog.latest("tool").version == 2);  // the cache was dropped by the new version
  REQUIRE(catalog.sha256_of("tool", 1) != catalog.sha256_of("tool", 2));
  REQUIRE(catalog.sha256_of("tool", 3).empty());

  const Error missing = error_from([&] { catalog.latest("nope"); });
  REQUIRE(missing.code() == ErrorCode::not_found);
  REQUIRE(missing.detail("binary") == "nope");

  users = {"job-1", "job-2"};
  const Error in_use = error_from([&] { catalog.remove(BinaryDeleteArgs{"tool", 0}, Reply<json>{}); });
  REQUIRE(in_use.code() == ErrorCode::in_use);
  REQUIRE(in_use.details()["jobs"] == json::array({"job-1", "job-2"}));

  users.clear();
  Answer<json> removed;
  catalog.remove(BinaryDeleteArgs{"tool", 1}, removed.reply());
  REQUIRE(f.run_until([&] { return removed.done(); }));
  REQUIRE((*removed.value)["deleted"] == 1);
  REQUIRE(catalog.show("tool").versions.size() == 1);
  pool.join();
}

TEST_CASE("ContextManager: create, delete remembered as ended, and a worker that keeps dying ends in ERROR",
          "[owners][contexts]") {
  Fixture f;
  f.config.context_max_restarts = 2;
  auto script = std::make_shared<Script>();
  ContextManager contexts(f.io, *f.store, f.config, scripted_factory(script));
  struct NullSink : JobSink {
    void job_started(const std::string&, int) override {}
    void job_output(const std::string&, std::string_view) override {}
    void job_ended(const std::string&, JobOutcome) override {}
    void runtime_died(Runtime&, const std::string&) override {}
  } sink;
  contexts.set_sink(sink);
  std::vector<std::string> ready, ended_jobs;
  contexts.set_hooks({[&](const std::string& name) { ready.push_back(name); },
                      [&](const std::string& id, JobOutcome o) { ended_jobs.push_back(id + ":" + o.state); }});

  Answer<ContextInfo> created;
  contexts.create(ContextCreateArgs{"ctx", "exec", json::object(), 2}, created.reply());
  REQUIRE(f.run_until([&] { return created.done(); }));
  REQUIRE(created.value->state == context_state::k_running);
  REQUIRE(f.store->get_context("ctx"));
  REQUIRE(error_from([&] { contexts.create(ContextCreateArgs{"ctx", "exec", json::object(), 1}, Reply<ContextInfo>{}); })
              .code() == ErrorCode::already_exists);
  REQUIRE(error_from([&] { contexts.show("nope"); }).detail("context") == "nope");

  // A worker that dies is restarted (the job side hears `ready`) until it died more than
  // context.max-restarts times in the window: then ERROR, and its queued jobs end.
  Context& ctx = contexts.named("ctx");
  ctx.queue.push("queued-1", 0, 1);  // the `ready` hook above starts nothing
  for (int death = 1; death <= 3; ++death) {
    Runtime* rt = script->runtimes.back();
    contexts.runtime_died(*rt, "worker exited with status 1");
    f.settle();
  }
  REQUIRE(ready == std::vector<std::string>{"ctx", "ctx"});
  REQUIRE(contexts.show("ctx").state == context_state::k_error);
  REQUIRE(ended_jobs == std::vector<std::string>{"queued-1:ERROR"});

  // An explicit restart starts a fresh budget.
  Answer<ContextInfo> restarted;
  contexts.restart("ctx", restarted.reply());
  REQUIRE(f.run_until([&] { return restarted.done(); }));
  REQUIRE(restarted.value->state == context_state::k_running);

  Answer<ContextInfo> removed;
  contexts.remove(ContextDeleteArgs{"ctx", false}, removed.reply());
  REQUIRE(f.run_until([&] { return removed.done(); }));
  REQUIRE(removed.value->state == context_state::k_stopped);
  REQUIRE(!contexts.find("ctx"));
  REQUIRE(contexts.ended("ctx")->state == context_state::k_stopped);
  REQUIRE(!f.store->get_context("ctx"));
}

TEST_CASE("Service answers a submission after its commit, and observers see only committed states",
          "[owners][jobs]") {
  Fixture f;
  auto script = std::make_shared<Script>();
  Service service(f.io, *f.store, *f.blobs, f.config, scripted_factory(script));
  service.start();
  std::vector<std::string> seen;
  service.events().on_started([&](const JobInfo& job) {
    seen.push_back("started:" + job.state + ":stored " + f.store->get_job(job.id)->state);
  });
  service.events().on_ended([&](const JobInfo& job, const json& result) {
    seen.push_back("ended:" + job.state + ":stored " + f.store->get_job(job.id)->state + ":" + result.dump());
  });
  upload_tool(f, service);

  JobSubmitArgs args = submit_args("tool");
  args.sync = true;
  Answer<JobResult> answer;
  service.submit_job(args, answer.reply());
  REQUIRE(f.run_until([&] { return script->runs.size() == 1; }));
  const std::string id = script->runs.front();
  REQUIRE(f.store->get_job(id));  // committed before it ran
  REQUIRE(f.run_until([&] { return seen.size() == 1; }));
  REQUIRE(seen[0] == "started:RUNNING:stored RUNNING");
  REQUIRE(!answer.done());

  script->finish(id);
  REQUIRE(service.job_status(id, false).job.state == job_state::k_finished);  // live, not yet committed
  REQUIRE(seen.size() == 1);                                                 // so no one was told
  REQUIRE(f.run_until([&] { return answer.done(); }));
  REQUIRE(answer.value->job.state == job_state::k_finished);
  REQUIRE(answer.value->result == json{{"id", id}});
  REQUIRE(seen.size() == 2);
  REQUIRE(seen[1] == "ended:FINISHED:stored FINISHED:{\"id\":\"" + id + "\"}");

  // The same idempotency key answers with the first job.
  JobSubmitArgs keyed = submit_args("tool");
  keyed.key = "nightly";
  Answer<JobResult> first, again;
  service.submit_job(keyed, first.reply());
  REQUIRE(f.run_until([&] { return first.done(); }));
  service.submit_job(keyed, again.reply());
  REQUIRE(f.run_until([&] { return again.done(); }));
  REQUIRE(again.value->existing);
  REQUIRE(again.value->job.id == first.value->job.id);

  bool stopped = false;
  service.shutdown([&] { stopped = true; });
  script->finish(first.value->job.id);
  REQUIRE(f.run_until([&] { return stopped; }));
}

// The lifetime rule: a job's timeout timer holds the job's id, not its context. Here the timer
// expires while the job ends, and its ad-hoc context is dropped before the handler runs; the
// handler must find nothing to cancel (it once dereferenced the dropped context).
TEST_CASE("a timeout that fires after its job ended and its ad-hoc context was dropped does nothing",
          "[owners][jobs]") {
  Fixture f;
  auto script = std::make_shared<Script>();
  Service service(f.io, *f.store, *f.blobs, f.config, scripted_factory(script));
  service.start();
  upload_tool(f, service);

  JobSubmitArgs args = submit_args("tool");
  args.timeout_s = 0.02;
  Answer<JobResult> answer;
  service.submit_job(args, answer.reply());
  REQUIRE(f.run_until([&] { return script->runs.size() == 1; }));
  const std::string id = script->runs.front();
  const std::string context = service.job_status(id, false).job.context;
  ::usleep(60 * 1000);  // the timer has expired; its handler has not run (the io_context is idle)
  script->finish(id);   // the job ends; its ad-hoc context stops and is dropped
  REQUIRE(f.run_until([&] { return service.ended_context(context).has_value(); }));
  f.settle();
  REQUIRE(script->cancels.empty());
  REQUIRE(f.run_until([&] { return f.store->get_job(id)->state == job_state::k_finished; }));
  REQUIRE(service.job_status(id, false).job.end_reason.empty());
}

TEST_CASE("a job that runs past its timeout is cancelled through its context's current runtime", "[owners][jobs]") {
  Fixture f;
  auto script = std::make_shared<Script>();
  Service service(f.io, *f.store, *f.blobs, f.config, scripted_factory(script));
  service.start();
  upload_tool(f, service);
  JobSubmitArgs args = submit_args("tool");
  args.timeout_s = 0.05;
  Answer<JobResult> answer;
  service.submit_job(args, answer.reply());
  REQUIRE(f.run_until([&] { return script->cancels.size() == 1; }));
  REQUIRE(script->cancels.front() == script->runs.front());
}

TEST_CASE("the exec runtime runs a real job end to end through the owners", "[owners][jobs]") {
  Fixture f;
  Service service(f.io, *f.store, *f.blobs, f.config);
  service.start();
  Answer<BinaryInfo> bin;
  service.upload_binary(
      BinaryUploadArgs{"hello", f.write("hello", "#!/bin/sh\necho working >&2\necho '{\"n\": 42}'\n", true), "", ""},
      false, bin.reply());
  REQUIRE(f.run_until([&] { return bin.done(); }));
  JobSubmitArgs args = submit_args("hello");
  args.sync = true;
  Answer<JobResult> answer;
  service.submit_job(args, answer.reply());
  REQUIRE(f.run_until([&] { return answer.done(); }));
  REQUIRE(answer.value->job.state == job_state::k_finished);
  REQUIRE(answer.value->result == json{{"n", 42}});
  std::ifstream log(f.dir.path() + "/logs/" + answer.value->job.id + ".log");
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  REQUIRE(text.find("working") != std::string::npos);
}

TEST_CASE("a context reset restarts named contexts and kills running ad-hoc jobs, answering when all is done",
          "[owners][contexts]") {
  Fixture f;
  auto script = std::make_shared<Script>();
  Service service(f.io, *f.store, *f.blobs, f.config, scripted_factory(script));
  service.start();
  upload_tool(f, service);
  Answer<ContextInfo> ctx;
  service.create_context(ContextCreateArgs{"named", "exec", json::object(), 1}, ctx.reply());
  REQUIRE(f.run_until([&] { return ctx.done(); }));
  Answer<JobResult> adhoc;
  service.submit_job(submit_args("tool"), adhoc.reply());
  REQUIRE(f.run_until([&] { return script->runs.size() == 1; }));
  const int starts_before = script->starts;

  Answer<std::vector<std::string>> reset;
  service.reset_contexts(reset.reply());
  REQUIRE(f.run_until([&] { return script->cancels.size() == 1; }));
  REQUIRE(!reset.done());                      // waits for the killed job
  script->finish(script->cancels.front(), job_state::k_killed);
  REQUIRE(f.run_until([&] { return reset.done(); }));
  REQUIRE(reset.value->empty());
  REQUIRE(script->starts == starts_before + 1);  // the named context started again
  REQUIRE(service.show_context("named").state == context_state::k_running);
}

TEST_CASE("listing several states merges their pages newest first and leaves out jobs that moved on",
          "[owners][jobs]") {
  Fixture f;
  auto script = std::make_shared<Script>();
  Service service(f.io, *f.store, *f.blobs, f.config, scripted_factory(script));
  service.start();
  upload_tool(f, service);
  Answer<ContextInfo> ctx;
  service.create_context(ContextCreateArgs{"one", "exec", json::object(), 1}, ctx.reply());
  REQUIRE(f.run_until([&] { return ctx.done(); }));
  std::vector<Answer<JobResult>> answers(3);
  for (auto& a : answers) service.submit_job(submit_args("tool", "one"), a.reply());
  REQUIRE(f.run_until([&] { return answers[2].done(); }));
  f.settle();  // RUNNING committed for the first
  JobListArgs args;
  args.states = {job_state::k_running, job_state::k_queued};
  auto listed = service.list_jobs(args).jobs;
  REQUIRE(listed.size() == 3);
  REQUIRE(listed[0].id == answers[2].value->job.id);  // newest first
  REQUIRE(listed[2].state == job_state::k_running);
  script->finish(listed[2].id);  // ended, its commit not seen yet
  REQUIRE(service.list_jobs(args).jobs.size() == 2);
  args.states = {"NOPE"};
  REQUIRE(error_from([&] { service.list_jobs(args); }).code() == ErrorCode::bad_request);
}

TEST_CASE("CallbackOutbox sends a callback once the job's end is committed, and again after a restart if owed",
          "[owners][callbacks]") {
  Fixture f;
  JobEvents events;
  CallbackOutbox outbox(*f.store, events);
  REQUIRE(error_from([&] { outbox.check("http://127.0.0.1:1/x"); }).code() == ErrorCode::bad_request);

  JobInfo job;
  job.id = make_time_uuid();
  job.seq = 1;
  job.state = job_state::k_finished;
  job.callback_url = "http://127.0.0.1:9/cb";
  job.has_result = true;
  const json result = {{"answer", 42}};
  bool committed = false;
  f.store->put_job(job, nullptr, &result, [&](const std::string&) { committed = true; });
  REQUIRE(f.run_until([&] { return committed; }));
  REQUIRE(f.store->pending_callbacks() == std::vector<std::string>{job.id});

  // A daemon that starts sends what is owed for a job that ended...
  std::vector<JobResult> sent;
  std::vector<std::function<void()>> finish;
  CallbackOutbox::Sender sender{[](const std::string&) {},
                                [&](const JobResult& r, std::function<void()> done) {
                                  sent.push_back(r);
                                  finish.push_back(std::move(done));
                                }};
  outbox.set_sender(sender, [](const std::string&) { return false; });
  REQUIRE(sent.size() == 1);
  REQUIRE(sent[0].result == result);
  // ...and once delivered, it is owed no more.
  finish[0]();
  REQUIRE(f.run_until([&] { return f.store->pending_callbacks().empty(); }));

  // An ended event sends it too; a job without a URL sends nothing.
  events.publish_ended(job, result);
  JobInfo quiet = job;
  quiet.callback_url.clear();
  events.publish_ended(quiet, result);
  REQUIRE(sent.size() == 2);
}

TEST_CASE("Retention removes the oldest finished jobs past the limit and reports them", "[owners][retention]") {
  Fixture f;
  f.config.retention_max_jobs = 1;
  f.config.retention_max_age_days = 0;
  int commits = 0;
  for (int i = 1; i <= 3; ++i) {
    JobInfo j;
    j.id = "job-" + std::to_string(i);
    j.seq = static_cast<std::uint64_t>(i);
    j.state = job_state::k_finished;
    j.ended_ms = now_ms();
    f.store->put_job(j, nullptr, nullptr, [&](const std::string&) { ++commits; });
  }
  REQUIRE(f.run_until([&] { return commits == 3; }));
  std::vector<std::string> removed;
  Retention retention(f.io, *f.store, f.config, [&](const std::vector<std::string>& ids) {
    removed.insert(removed.end(), ids.begin(), ids.end());
  });
  retention.start();
  REQUIRE(f.run_until([&] { return removed.size() == 2; }));
  retention.stop();
  REQUIRE(removed == std::vector<std::string>{"job-1", "job-2"});
  REQUIRE(f.store->get_job("job-3"));
  REQUIRE(!f.store->get_job("job-1"));
}

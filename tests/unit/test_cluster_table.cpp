// ClusterTable in-process on a temp store: the coordinator's state machine. Its calls to partition
// servers go through a ControlCall the test answers (the integration tests use real servers).
#include <catch2/catch.hpp>

#include <map>

#include "cluster_table.hpp"
#include "service_fixture.hpp"

using nlohmann::json;
using namespace sjs;
using namespace sjs::test;

namespace {

// Records every control call; answers health checks by "host:port" (200 unless set), shutdowns 200.
struct Servers {
  std::vector<ControlRequest> calls;
  std::map<std::string, int> health;  // "host:port" -> status (0: no answer)
  ControlCall call() {
    return [this](const ControlRequest& r, std::function<void(ControlAnswer)> done) {
      calls.push_back(r);
      ControlAnswer a;
      const std::string at = r.host + ":" + std::to_string(r.port);
      a.status = r.target == "/control/health" && health.count(at) ? health[at] : 200;
      if (a.status == 0) a.error = "cannot connect: Connection refused";
      done(a);
    };
  }
  int count(const std::string& target) const {
    int n = 0;
    for (const auto& c : calls) n += c.target == target ? 1 : 0;
    return n;
  }
};

struct Table {
  Fixture f;
  Servers servers;
  std::vector<std::pair<std::string, worker::ToWorker>> sent;
  std::vector<std::string> log, killed;
  std::unique_ptr<ClusterTable> t;

  explicit Table(double health_interval = 0, double stop_grace = 5) { make(health_interval, stop_grace); }
  void make(double health_interval = 0, double stop_grace = 5) {
    t = std::make_unique<ClusterTable>(f.io, *f.store, servers.call(),
                                       ClusterOptions{health_interval, stop_grace, 1u << 20, 1000});
    ClusterHooks h;
    h.send = [this](const std::string& job, const worker::ToWorker& m) { sent.emplace_back(job, m); };
    h.log = [this](const std::string&, const std::string& line) { log.push_back(line); };
    h.kill = [this](const std::string& job, const std::string&) { killed.push_back(job); };
    t->set_hooks(h);
    t->load();
  }
  // The answer to the last cluster_open.
  std::string opened(const std::string& job, const std::string& name, std::int64_t partitions) {
    t->open(worker::ClusterOpen{7, job, name, partitions}, "ctx", "python");
    REQUIRE(!sent.empty());
    auto* a = std::get_if<worker::ClusterOpened>(&sent.back().second);
    REQUIRE(a);
    REQUIRE(a->id == 7);
    return a->error;
  }
  void register_all(const std::string& name, const std::string& token, int partitions) {
    for (int i = 0; i < partitions; ++i) t->register_server(name, i, "127.0.0.1", 40000 + i, token, "test");
  }
};

}  // namespace

TEST_CASE("ClusterTable: a cluster goes STARTING, READY on the last registration, DEGRADED while a partition is down",
          "[owners][clusters]") {
  Table tb;
  const std::string token = tb.t->token_for("job-1");
  REQUIRE(token.size() == 32);
  REQUIRE(tb.t->token_for("job-1") == token);  // one per job
  REQUIRE(tb.t->token_for("job-2") != token);

  REQUIRE(tb.opened("job-1", "search", 3) == "");
  REQUIRE(tb.t->show("search").state == cluster_state::k_starting);

  Answer<ClusterWaitResult> ready;
  tb.t->wait(ClusterWaitArgs{"search", 0}, ready.reply());
  REQUIRE_FALSE(ready.done());

  const Error forged = error_from([&] { tb.t->register_server("search", 0, "127.0.0.1", 40000, "0123", "test"); });
  REQUIRE(forged.code() == ErrorCode::forbidden);
  REQUIRE(tb.t->show("search").registered == 0);
  REQUIRE(std::any_of(tb.log.begin(), tb.log.end(), [](const std::string& l) { return l.find("wrong token") != std::string::npos; }));
  // A token of another job is as wrong as a made-up one.
  REQUIRE(error_from([&] { tb.t->register_server("search", 0, "h", 1, tb.t->token_for("job-2"), "t"); }).code() ==
          ErrorCode::forbidden);
  REQUIRE(error_from([&] { tb.t->register_server("search", 3, "h", 1, token, "t"); }).code() == ErrorCode::bad_request);
  REQUIRE(error_from([&] { tb.t->register_server("search", 0, "h", 0, token, "t"); }).code() == ErrorCode::bad_request);
  REQUIRE(error_from([&] { tb.t->register_server("nope", 0, "h", 1, token, "t"); }).code() == ErrorCode::not_found);

  tb.register_all("search", token, 2);
  REQUIRE(tb.t->show("search").state == cluster_state::k_starting);
  REQUIRE_FALSE(ready.done());
  tb.t->register_server("search", 2, "127.0.0.1", 40002, token, "test");
  ClusterInfo c = tb.t->show("search");
  REQUIRE(c.state == cluster_state::k_ready);
  REQUIRE(c.registered == 3);
  REQUIRE(c.servers[2].url == "http://127.0.0.1:40002");
  REQUIRE(ready.value);
  REQUIRE(ready.value->cluster.state == cluster_state::k_ready);
  REQUIRE_FALSE(ready.value->timed_out);

  // A failed partition: DEGRADED with its error, until it registers again (on another port).
  tb.t->partition_failed(worker::ClusterPartition{"job-1", "search", 1, "ValueError: boom"});
  c = tb.t->show("search");
  REQUIRE(c.state == cluster_state::k_degraded);
  REQUIRE(c.servers[1].state == server_state::k_down);
  REQUIRE(c.servers[1].error == "ValueError: boom");
  tb.t->register_server("search", 1, "127.0.0.1", 41001, token, "test");
  c = tb.t->show("search");
  REQUIRE(c.state == cluster_state::k_ready);
  REQUIRE(c.servers[1].port == 41001);
  REQUIRE(c.servers[1].registrations == 2);
  REQUIRE(c.registered == 3);

  // A second cluster of the same name is refused while this one lives.
  tb.t->token_for("job-3");
  REQUIRE(tb.opened("job-3", "search", 2).find("already serving (job job-1)") != std::string::npos);
  REQUIRE(tb.opened("job-1", "search", 2).find("already serves") != std::string::npos);
  REQUIRE(tb.opened("job-3", "bad name", 2).find("cluster") != std::string::npos);
  REQUIRE(tb.opened("job-3", "zero", 0).find("at least one partition") != std::string::npos);
  REQUIRE(tb.opened("job-9", "other", 2).find("not running") != std::string::npos);
}

TEST_CASE("ClusterTable: health checks mark a silent server DOWN and back UP", "[owners][clusters]") {
  Table tb(0.05);
  const std::string token = tb.t->token_for("job-1");
  REQUIRE(tb.opened("job-1", "h", 2) == "");
  tb.register_all("h", token, 2);
  REQUIRE(tb.t->show("h").state == cluster_state::k_ready);
  tb.servers.health["127.0.0.1:40001"] = 0;
  REQUIRE(tb.f.run_until([&] { return tb.t->show("h").state == cluster_state::k_degraded; }, 5));
  ClusterInfo c = tb.t->show("h");
  REQUIRE(c.servers[1].state == server_state::k_down);
  REQUIRE(c.servers[1].error.find("health check failed") != std::string::npos);
  REQUIRE(c.servers[0].state == server_state::k_up);
  tb.servers.health["127.0.0.1:40001"] = 200;
  REQUIRE(tb.f.run_until([&] { return tb.t->show("h").state == cluster_state::k_ready; }, 5));
  REQUIRE(tb.servers.count("/control/health") >= 4);
}

TEST_CASE("ClusterTable: stop calls every shutdown route and the worker, then keeps the results", "[owners][clusters]") {
  Table tb;
  const std::string token = tb.t->token_for("job-1");
  REQUIRE(tb.opened("job-1", "s", 3) == "");
  tb.register_all("s", token, 3);
  REQUIRE(error_from([&] { tb.t->results("s"); }).code() == ErrorCode::in_use);

  Answer<ClusterWaitResult> stopped;
  tb.t->stop(ClusterWaitArgs{"s", 0}, stopped.reply());
  REQUIRE(tb.t->show("s").state == cluster_state::k_stopping);
  REQUIRE(tb.servers.count("/control/shutdown") == 3);
  REQUIRE(std::holds_alternative<worker::ClusterStop>(tb.sent.back().second));
  REQUIRE(error_from([&] { tb.t->register_server("s", 0, "h", 1, token, "t"); }).code() == ErrorCode::in_use);
  REQUIRE_FALSE(stopped.done());

  tb.t->ended(worker::ClusterEnded{"job-1", "s", json::array({1, 2, 3}), ""});
  REQUIRE(stopped.value);
  REQUIRE(stopped.value->cluster.state == cluster_state::k_stopped);
  REQUIRE(stopped.value->cluster.result_count == 3);
  REQUIRE(stopped.value->cluster.results_kept);
  REQUIRE(tb.t->results("s").results == json::array({1, 2, 3}));
  REQUIRE(tb.t->show("s").servers[0].state == server_state::k_down);
  // Stopping an ended cluster answers it as it is.
  Answer<ClusterWaitResult> again;
  tb.t->stop(ClusterWaitArgs{"s", 0}, again.reply());
  REQUIRE(again.value->cluster.state == cluster_state::k_stopped);
  // Its name is free again.
  tb.t->token_for("job-2");
  REQUIRE(tb.opened("job-2", "s", 1) == "");
}

TEST_CASE("ClusterTable: a cluster that ignores its stop gets its job killed, and a job's end ends its clusters",
          "[owners][clusters]") {
  Table tb(0, 0.05);
  const std::string token = tb.t->token_for("job-1");
  REQUIRE(tb.opened("job-1", "k", 1) == "");
  Answer<ClusterWaitResult> stopped;
  tb.t->stop(ClusterWaitArgs{"k", 0}, stopped.reply());
  REQUIRE(tb.f.run_until([&] { return !tb.killed.empty(); }, 5));
  REQUIRE(tb.killed == std::vector<std::string>{"job-1"});
  tb.t->job_ended("job-1", job_state::k_killed, "");
  REQUIRE(stopped.value);
  REQUIRE(stopped.value->cluster.state == cluster_state::k_stopped);
  REQUIRE(stopped.value->cluster.error == "the job was killed");

  tb.t->token_for("job-2");
  REQUIRE(tb.opened("job-2", "f", 2) == "");
  tb.t->job_ended("job-2", job_state::k_error, "ValueError: no");
  REQUIRE(tb.t->show("f").state == cluster_state::k_failed);
  REQUIRE(tb.t->show("f").error == "the job failed: ValueError: no");
  // The job's token is gone with it.
  REQUIRE(error_from([&] { tb.t->register_server("f", 0, "h", 1, token, "t"); }).code() == ErrorCode::forbidden);
}

TEST_CASE("ClusterTable: records outlive the daemon, live clusters come back FAILED", "[owners][clusters]") {
  Table tb;
  const std::string token = tb.t->token_for("job-1");
  REQUIRE(tb.opened("job-1", "live", 2) == "");
  tb.register_all("live", token, 2);
  tb.t->token_for("job-2");
  REQUIRE(tb.opened("job-2", "done", 1) == "");
  tb.t->ended(worker::ClusterEnded{"job-2", "done", json::array({json{{"n", 1}}}), ""});
  tb.f.store->flush();

  tb.make();  // a new daemon on the same store
  ClusterInfo live = tb.t->show("live");
  REQUIRE(live.state == cluster_state::k_failed);
  REQUIRE(live.error.find("daemon restarted") != std::string::npos);
  REQUIRE(live.servers[0].host == "127.0.0.1");
  REQUIRE(live.registered == 2);
  REQUIRE(tb.t->show("done").state == cluster_state::k_stopped);
  REQUIRE(tb.t->results("done").results == json::array({json{{"n", 1}}}));
  REQUIRE(tb.t->list().clusters.size() == 2);
  tb.f.store->flush();
  tb.make();
  REQUIRE(tb.t->show("live").state == cluster_state::k_failed);
}

TEST_CASE("ClusterTable: a wait on a name no cluster has yet waits for it to open, or ends not_found",
          "[owners][clusters]") {
  Table tb;
  Answer<ClusterWaitResult> early, never;
  tb.t->wait(ClusterWaitArgs{"later", 10}, early.reply());
  tb.t->wait(ClusterWaitArgs{"never", 0.05}, never.reply());
  REQUIRE_FALSE(early.done());
  const std::string token = tb.t->token_for("job-1");
  REQUIRE(tb.opened("job-1", "later", 1) == "");
  REQUIRE_FALSE(early.done());  // open, not READY yet
  tb.register_all("later", token, 1);
  REQUIRE(early.value);
  REQUIRE(early.value->cluster.state == cluster_state::k_ready);
  REQUIRE(tb.f.run_until([&] { return never.done(); }, 5));
  REQUIRE(never.error);
  REQUIRE(never.error->code() == ErrorCode::not_found);
  REQUIRE(std::string(never.error->what()).find("none opened within") != std::string::npos);
}

// HTTP security and observability against a real sjsd: the users file and
// `sjs user` (Basic auth, bearer tokens, permissions, reload without restart),
// the refusal of a public address without users, TLS, CORS, GET /metrics,
// GET /openapi.json, and a keep-alive load with the daemon's memory flat.
// Clients: curl and python3's http.client.
#include <sys/stat.h>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace sjs::test;
using nlohmann::json;

namespace {

const char* const k_http_conf = "http.listen = \"127.0.0.1:0\"\n";

struct Reply : HttpReply {
  int curl_exit = 0;
};

// One curl request; `args` go before the URL (e.g. -X POST, -u, -H, --data-binary).
Reply curl(const Sandbox& sb, const std::string& url, std::vector<std::string> args) {
  static int counter = 0;
  const std::string n = std::to_string(counter++);
  const std::string head = sb.dir() + "/h-" + n, body = sb.dir() + "/b-" + n;
  std::vector<std::string> argv = {"/usr/bin/curl", "-sS", "--max-time", "60", "-D", head, "-o", body, "-w",
                                   "%{http_code}"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(url);
  auto r = run_process(argv, {}, "", 70);
  Reply reply;
  reply.curl_exit = r.exit_code;
  reply.status = r.out.empty() ? 0 : std::atoi(r.out.c_str());
  reply.body = read_all(body);
  for (auto& [name, value] : last_header_block(read_all(head))) reply.headers[name] = value;
  return reply;
}

// sjs's own API: POST /sjs/v1/<op> with a JSON body.
Reply rpc(const Sandbox& sb, const std::string& url, const std::string& op, const json& args,
          std::vector<std::string> auth = {}) {
  auth.insert(auth.end(), {"-X", "POST", "-H", "Content-Type: application/json", "--data-binary", args.dump()});
  return curl(sb, url + "/sjs/v1/" + op, auth);
}

std::string start_http(const Sandbox& sb) {
  sb.start_daemon();
  std::string url = trim(read_all(sb.home() + "/sjsd.url"));
  REQUIRE(url.rfind("http", 0) == 0);
  return url;
}

void add_user(const Sandbox& sb, const std::string& name, const std::string& password, const std::string& permissions) {
  auto r = sb.sjs({"user", "add", name, "--password-stdin", "--permissions", permissions}, password + "\n");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

std::string new_token(const Sandbox& sb, const std::string& name) {
  auto r = sb.sjs({"user", "token", name});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::string token = trim(r.out);
  REQUIRE(std::regex_match(token, std::regex("[0-9a-f]{64}")));
  return token;
}

bool is_unauthorized(const Reply& r) {
  return r.status == 401 && r.headers.count("www-authenticate") &&
         r.headers.at("www-authenticate") == "Basic realm=\"sjs\"";
}

// The value of the sample `name` (with its labels, e.g. sjs_jobs{state="FINISHED"}) in a
// Prometheus exposition; nullopt if absent.
std::optional<double> sample(const std::string& text, const std::string& name) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("HTTP without users: auth is off and credentials sent anyway are accepted and ignored", "[http-auth]") {
  Sandbox sb(k_http_conf);
  const std::string url = start_http(sb);
  auto none = rpc(sb, url, "daemon.status", json::object());
  CHECK(none.status == 200);
  CHECK(none.js().value("ok", false));
  auto basic = rpc(sb, url, "daemon.status", json::object(), {"-u", "nobody:nothing"});
  CHECK(basic.status == 200);
  CHECK_FALSE(basic.headers.count("www-authenticate"));
  auto bearer = rpc(sb, url, "job.list", json::object(), {"-H", "Authorization: Bearer 0123456789abcdef"});
  CHECK(bearer.status == 200);
  // Nor is any permission checked: the daemon.stop-only "*" is not needed for /metrics either.
  CHECK(curl(sb, url + "/metrics", {"-u", "x:y"}).status == 200);
}

TEST_CASE(
    "HTTP with users: 401 + WWW-Authenticate without or with wrong credentials, 200 with a right password "
    "or token, 401 once the token is revoked, /healthz open",
    "[http-auth]") {
  Sandbox sb(k_http_conf);
  add_user(sb, "alice", "s3cret pass:word", "*");
  // The file: the salted PBKDF2 hash and the iteration count, never the password; mode 0600.
  const std::string file = read_all(sb.home() + "/users.json");
  CHECK(file.find("s3cret") == std::string::npos);
  auto users = json::parse(file);
  CHECK(users["users"]["alice"]["password"]["iterations"].get<int>() >= 100000);
  CHECK(users["users"]["alice"]["password"]["salt"].get<std::string>().size() == 32);
  struct stat st {};
  REQUIRE(::stat((sb.home() + "/users.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  const std::string url = start_http(sb);
  auto none = curl(sb, url + "/sjs/v1/daemon.status", {"-X", "POST"});
  CHECK(is_unauthorized(none));
  CHECK(none.js()["error"]["code"] == "unauthorized");
  auto none_sjs = curl(sb, url + "/jobs", {});  // spark-jobserver's routes: the E1 body
  CHECK(is_unauthorized(none_sjs));
  CHECK(none_sjs.js()["status"] == "ERROR");
  CHECK(none_sjs.js()["result"].is_string());
  CHECK(is_unauthorized(curl(sb, url + "/jobs", {"-u", "alice:wrong"})));
  CHECK(is_unauthorized(curl(sb, url + "/jobs", {"-u", "mallory:s3cret pass:word"})));
  CHECK(is_unauthorized(curl(sb, url + "/jobs", {"-H", "Authorization: Basic !!!notbase64"})));
  CHECK(is_unauthorized(curl(sb, url + "/metrics", {"-H", "Authorization: Bearer deadbeef"})));
  CHECK(is_unauthorized(curl(sb, url + "/openapi.json", {})));

  auto ok = rpc(sb, url, "daemon.status", json::object(), {"-u", "alice:s3cret pass:word"});
  CHECK(ok.status == 200);
  CHECK(ok.js().value("ok", false));
  CHECK(curl(sb, url + "/metrics", {"-u", "alice:s3cret pass:word"}).status == 200);

  const std::string token = new_token(sb, "alice");
  CHECK(read_all(sb.home() + "/users.json").find(token) == std::string::npos);  // only its SHA-256 is stored
  const std::vector<std::string> bearer = {"-H", "Authorization: Bearer " + token};
  CHECK(eventually([&] { return rpc(sb, url, "job.list", json::object(), bearer).status == 200; }, 10));
  REQUIRE(sb.sjs({"user", "revoke-token", "alice"}).exit_code == 0);
  CHECK(eventually([&] { return is_unauthorized(rpc(sb, url, "job.list", json::object(), bearer)); }, 10));

  // The health check is never behind auth (whoever answers /healthz, it is not the authenticator's 401).
  auto health = curl(sb, url + "/healthz", {});
  CHECK(health.status != 401);
  CHECK_FALSE(health.headers.count("www-authenticate"));
}

TEST_CASE(
    "HTTP permissions: a user without jobs:start gets 403 on POST /jobs and job.submit, and daemon.stop "
    "needs the * permission",
    "[http-auth]") {
  Sandbox sb(k_http_conf);
  add_user(sb, "reader", "pw-reader", "jobs:read,binaries");
  add_user(sb, "admin", "pw-admin", "*");
  const std::string url = start_http(sb);
  const std::vector<std::string> reader = {"-u", "reader:pw-reader"};

  auto submit = rpc(sb, url, "job.submit", json{{"binary", "nothing"}}, reader);
  CHECK(submit.status == 403);
  CHECK(submit.js()["error"]["code"] == "forbidden");
  CHECK(submit.js()["error"]["message"].get<std::string>().find("jobs:start") != std::string::npos);
  auto upload =
      curl(sb, url + "/sjs/v1/upload/x", {"-X", "POST", "--data-binary", "#!/bin/sh\n", "-u", "reader:pw-reader"});
  INFO(upload.body);
  CHECK(upload.status == 200);                                            // "binaries" grants binaries:upload
  CHECK(rpc(sb, url, "job.list", json::object(), reader).status == 200);  // jobs:read
  CHECK(rpc(sb, url, "context.create", json{{"name", "c"}}, reader).status == 403);
  CHECK(rpc(sb, url, "daemon.status", json::object(), reader).status == 200);  // any authenticated user
  auto stop = rpc(sb, url, "daemon.stop", json::object(), reader);
  CHECK(stop.status == 403);
  CHECK(stop.js()["error"]["code"] == "forbidden");

  auto jobs = curl(sb, url + "/jobs?appName=nothing&classPath=x", {"-X", "POST", "-u", "reader:pw-reader"});
  INFO(jobs.body);
  CHECK(jobs.status == 403);
  CHECK(jobs.js()["status"] == "ERROR");
  // The admin is not refused (the binary does not exist: a 404, not a 403).
  CHECK(rpc(sb, url, "job.submit", json{{"binary", "nothing"}}, {"-u", "admin:pw-admin"}).status == 404);
  // /metrics needs jobs:read.
  add_user(sb, "uploader", "pw-up", "binaries:upload");
  CHECK(eventually([&] { return curl(sb, url + "/metrics", {"-u", "uploader:pw-up"}).status == 403; }, 10));
  CHECK(curl(sb, url + "/metrics", reader).status == 200);
}

TEST_CASE("HTTP credentials are checked from the header: an unauthenticated upload is refused before its body is "
          "sent, and a burst of first-time Basic logins all get in",
          "[http-auth]") {
  Sandbox sb(k_http_conf);
  add_user(sb, "ann", "pw-ann", "*");
  add_user(sb, "bob", "pw-bob", "data");
  const std::string url = start_http(sb);
  const int port = std::stoi(url.substr(url.rfind(':') + 1));

  // A header that promises 100 MB, and no body at all: the 401 comes without waiting for it, and
  // closes the connection (the unread body cannot be taken for a next request).
  const std::string upload = "POST /binaries/big HTTP/1.1\r\nHost: x\r\nContent-Type: application/java-archive\r\n"
                             "Content-Length: 100000000\r\n";
  for (const std::string& credentials : {std::string(), std::string("Authorization: Basic YW5uOm5vcGU=\r\n")}) {
    auto reply = raw_exchange(port, upload + credentials + "\r\n", false, 20);
    INFO(reply);
    CHECK(raw_status(reply) == 401);
    CHECK(reply.find("Connection: close") != std::string::npos);
  }
  // With Expect: 100-continue, a client is told 401 instead of "go on".
  auto expecting = raw_exchange(port, upload + "Expect: 100-continue\r\n\r\n", false, 20);
  CHECK(raw_status(expecting) == 401);
  CHECK(expecting.find("100 Continue") == std::string::npos);
  std::size_t stored = 0;
  for (const auto& entry : std::filesystem::directory_iterator(sb.home() + "/uploads")) {
    (void)entry;
    ++stored;
  }
  CHECK(stored == 0);

  // 12 parallel connections log in as bob for the first time (the password checks run off the
  // core thread, and the same credentials share one check): every one gets in.
  auto burst = [&](const std::string& user_password) {
    std::vector<std::string> argv = {"/usr/bin/curl", "-sS", "-Z", "--parallel-max", "12", "--max-time", "60",
                                     "-u", user_password, "-w", "%{http_code}\n"};
    for (int i = 0; i < 12; ++i) argv.insert(argv.end(), {"-o", "/dev/null", url + "/data"});
    auto r = run_process(argv, {}, "", 90);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    std::map<std::string, int> codes;
    std::istringstream lines(r.out);
    std::string line;
    while (std::getline(lines, line)) codes[line]++;
    return codes;
  };
  CHECK(burst("bob:pw-bob") == std::map<std::string, int>{{"200", 12}});
  CHECK(burst("bob:wrong") == std::map<std::string, int>{{"401", 12}});

  // A large upload with the right password goes through curl's own Expect: 100-continue.
  const std::string big = sb.write_file("big.bin", std::string(3 << 20, 'x'));
  auto ok = curl(sb, url + "/data/big", {"-u", "bob:pw-bob", "-X", "POST", "--data-binary", "@" + big});
  INFO(ok.body);
  CHECK(ok.status == 200);
  CHECK(curl(sb, url + "/data", {"-u", "bob:pw-bob"}).js().size() == 1);
}

TEST_CASE("HTTP users file changes are picked up without a restart, and a malformed file keeps the previous users",
          "[http-auth]") {
  Sandbox sb(k_http_conf);
  const std::string url = start_http(sb);
  const int pid = sb.daemon_pid();
  CHECK(rpc(sb, url, "job.list", json::object()).status == 200);

  add_user(sb, "bob", "pw-bob", "jobs");
  CHECK(eventually([&] { return is_unauthorized(rpc(sb, url, "job.list", json::object())); }, 10));
  CHECK(rpc(sb, url, "job.list", json::object(), {"-u", "bob:pw-bob"}).status == 200);

  // A half-written file must not open the door: the daemon keeps bob.
  const std::string users = read_all(sb.home() + "/users.json");
  sb.write_file("home/users.json", "{ this is not json");
  // The file is checked when a request comes (at most once a second).
  CHECK(eventually(
      [&] {
        rpc(sb, url, "job.list", json::object());
        return read_all(sb.home() + "/sjsd.log").find("cannot reload the users file") != std::string::npos;
      },
      10));
  CHECK(is_unauthorized(rpc(sb, url, "job.list", json::object())));
  CHECK(rpc(sb, url, "job.list", json::object(), {"-u", "bob:pw-bob"}).status == 200);
  sb.write_file("home/users.json", users);

  auto rm = sb.sjs({"user", "remove", "bob"});
  INFO(rm.err);
  REQUIRE(rm.exit_code == 0);
  CHECK(eventually([&] { return rpc(sb, url, "job.list", json::object()).status == 200; }, 10));
  CHECK(sb.daemon_pid() == pid);                            // the same daemon all along
  CHECK(sb.sjs({"user", "remove", "bob"}).exit_code == 7);  // gone: not found
}

TEST_CASE("sjs user: add refuses duplicates and unknown permissions, list shows users, token needs a user",
          "[http-auth]") {
  Sandbox sb;
  add_user(sb, "carol", "pw", "jobs:read,contexts");
  auto dup = sb.sjs({"user", "add", "carol", "--password-stdin"}, "other\n");
  CHECK(dup.exit_code == 9);
  auto bad = sb.sjs({"user", "add", "dave", "--password-stdin", "--permissions", "jobs:fly"}, "pw\n");
  CHECK(bad.exit_code == 8);
  CHECK(bad.err.find("jobs:fly") != std::string::npos);
  CHECK(sb.sjs({"user", "add", "bad:name", "--password-stdin"}, "pw\n").exit_code == 8);
  CHECK(sb.sjs({"user", "add", "erin", "--password-stdin"}, "\n").exit_code == 8);  // empty password
  auto no_tty = sb.sjs({"user", "add", "frank"}, "");
  CHECK(no_tty.exit_code == 2);  // no terminal to prompt on and no --password-stdin
  auto list = sb.sjs_json({"user", "list"});
  REQUIRE(list.exit_code == 0);
  auto users = list.json()["users"];
  REQUIRE(users.size() == 1);
  CHECK(users[0]["name"] == "carol");
  CHECK(users[0]["permissions"] == json::array({"jobs:read", "contexts"}));
  CHECK(sb.sjs({"user", "token", "nobody"}).exit_code == 7);
  // --replace changes the password and keeps the tokens.
  new_token(sb, "carol");
  REQUIRE(sb.sjs({"user", "add", "carol", "--password-stdin", "--replace", "--permissions", "*"}, "new\n").exit_code ==
          0);
  users = sb.sjs_json({"user", "list"}).json()["users"];
  CHECK(users[0]["tokens"] == 1);
  CHECK(users[0]["permissions"] == json::array({"*"}));
  // The users file is on the daemon's machine: --url is refused; $SJS_URL is noted and not used.
  auto over_url = sb.sjs({"--url", "http://127.0.0.1:9", "user", "list"});
  CHECK(over_url.exit_code == 2);
  CHECK(over_url.err.find("does not work over --url") != std::string::npos);
  auto with_env = run_process({k_sjs, "user", "list"}, {{"SJS_HOME", sb.home()}, {"SJS_URL", "http://127.0.0.1:9"}});
  CHECK(with_env.exit_code == 0);
  CHECK(with_env.err.find("$SJS_URL is not used") != std::string::npos);
  CHECK(with_env.out.find("carol") != std::string::npos);
  // Another file by flag.
  const std::string other = sb.dir() + "/other-users.json";
  REQUIRE(sb.sjs({"user", "add", "gina", "--password-stdin", "--users-file", other}, "pw\n").exit_code == 0);
  CHECK(json::parse(read_all(other))["users"].contains("gina"));
}

TEST_CASE("sjsd refuses a non-loopback HTTP address without users, and serves it once users exist", "[http-auth]") {
  Sandbox sb(k_fast_grace_conf);
  auto refused = run_process({k_sjsd, "--foreground", "--http", "0.0.0.0:0"}, {{"SJS_HOME", sb.home()}}, "", 30);
  CHECK(refused.exit_code != 0);
  CHECK(refused.exit_code != -1);  // it exited by itself, at once
  CHECK(refused.err.find("refusing to serve HTTP on 0.0.0.0 without authentication") != std::string::npos);

  add_user(sb, "ops", "pw-ops", "*");
  auto started = run_process({k_sjsd, "--http", "0.0.0.0:0"}, {{"SJS_HOME", sb.home()}}, "", 30);
  INFO(started.err);
  REQUIRE(started.exit_code == 0);
  std::string url = trim(read_all(sb.home() + "/sjsd.url"));
  REQUIRE(url.rfind("http://0.0.0.0:", 0) == 0);
  url = "http://127.0.0.1:" + url.substr(url.rfind(':') + 1);
  CHECK(is_unauthorized(rpc(sb, url, "daemon.status", json::object())));
  CHECK(rpc(sb, url, "daemon.status", json::object(), {"-u", "ops:pw-ops"}).status == 200);
  // Served because of users: should they all go, nobody gets in (rather than everybody).
  REQUIRE(sb.sjs({"user", "remove", "ops"}).exit_code == 0);
  CHECK(eventually(
      [&] {
        rpc(sb, url, "daemon.status", json::object());
        return read_all(sb.home() + "/sjsd.log").find("0 user(s)") != std::string::npos;
      },
      10));
  CHECK(is_unauthorized(rpc(sb, url, "daemon.status", json::object())));
}

TEST_CASE("HTTPS: curl trusting the self-signed cert gets answers, plain HTTP to the TLS port fails", "[http-auth]") {
  Sandbox sb;
  const std::string cert = sb.dir() + "/cert.pem", key = sb.dir() + "/key.pem";
  auto gen =
      run_process({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                   "-days", "1", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert},
                  {}, "", 60);
  INFO(gen.err);
  REQUIRE(gen.exit_code == 0);
  sb.write_file("home/sjsd.conf",
                std::string(k_http_conf) + "http.tls-cert = \"" + cert + "\"\nhttp.tls-key = \"" + key + "\"\n");
  const std::string url = start_http(sb);
  REQUIRE(url.rfind("https://127.0.0.1:", 0) == 0);
  const std::string port = url.substr(url.rfind(':') + 1);

  auto ok = rpc(sb, url, "daemon.status", json::object(), {"--cacert", cert});
  INFO(ok.body);
  CHECK(ok.curl_exit == 0);
  CHECK(ok.status == 200);
  CHECK(ok.js()["result"]["http_url"] == url);
  auto by_name = curl(sb, "https://localhost:" + port + "/openapi.json",
                      {"--cacert", cert, "--resolve", "localhost:" + port + ":127.0.0.1"});
  CHECK(by_name.status == 200);
  // Without trusting the cert: a verification failure, not an answer.
  CHECK(curl(sb, url + "/openapi.json", {}).curl_exit != 0);
  // Plain HTTP to the TLS port gets no HTTP answer.
  auto plain = curl(sb, "http://127.0.0.1:" + port + "/openapi.json", {});
  CHECK(plain.curl_exit != 0);
  CHECK(plain.status == 0);
  // ...and the daemon keeps serving TLS.
  CHECK(rpc(sb, url, "daemon.status", json::object(), {"--cacert", cert}).status == 200);
}

TEST_CASE(
    "CORS: off by default, and when set, preflights are answered without credentials and responses carry "
    "Access-Control-Allow-Origin",
    "[http-auth]") {
  {
    Sandbox off(k_http_conf);
    const std::string url = start_http(off);
    auto r = curl(off, url + "/openapi.json", {"-H", "Origin: https://app.example"});
    CHECK(r.status == 200);
    CHECK_FALSE(r.headers.count("access-control-allow-origin"));
  }
  Sandbox sb(std::string(k_http_conf) + "http.cors-origin = \"https://app.example, https://other.example\"\n");
  add_user(sb, "web", "pw-web", "*");
  const std::string url = start_http(sb);
  auto pre = curl(sb, url + "/jobs",
                  {"-X", "OPTIONS", "-H", "Origin: https://app.example", "-H", "Access-Control-Request-Method: POST",
                   "-H", "Access-Control-Request-Headers: authorization, content-type"});
  CHECK(pre.status == 204);
  CHECK(pre.headers["access-control-allow-origin"] == "https://app.example");
  CHECK(pre.headers["access-control-allow-methods"].find("POST") != std::string::npos);
  CHECK(pre.headers["access-control-allow-headers"].find("authorization") != std::string::npos);
  auto other =
      curl(sb, url + "/jobs",
           {"-X", "OPTIONS", "-H", "Origin: https://evil.example", "-H", "Access-Control-Request-Method: GET"});
  CHECK(other.status == 403);
  CHECK_FALSE(other.headers.count("access-control-allow-origin"));

  auto get = rpc(sb, url, "daemon.status", json::object(), {"-u", "web:pw-web", "-H", "Origin: https://other.example"});
  CHECK(get.status == 200);
  CHECK(get.headers["access-control-allow-origin"] == "https://other.example");
  CHECK(get.headers["access-control-allow-credentials"] == "true");
  auto denied = curl(sb, url + "/openapi.json", {"-H", "Origin: https://app.example"});  // a 401 carries it too
  CHECK(is_unauthorized(denied));
  CHECK(denied.headers["access-control-allow-origin"] == "https://app.example");
}

TEST_CASE(
    "GET /metrics is Prometheus text with the job, context, histogram, store and request families and "
    "counts a finished job",
    "[http-auth]") {
  Sandbox sb(k_http_conf);
  const std::string url = start_http(sb);
  sb.upload_script("quick", "echo '{\"done\": true}'");
  REQUIRE(sb.sjs({"context", "create", "warm", "--max-jobs", "2"}).exit_code == 0);
  auto before = curl(sb, url + "/metrics", {});
  REQUIRE(before.status == 200);
  const double finished0 = sample(before.body, "sjs_jobs{state=\"FINISHED\"}").value_or(-1);
  CHECK(finished0 == 0);
  CHECK(sample(before.body, "sjs_job_run_seconds_count") == 0.0);

  const std::string id = sb.submit({"quick", "-c", "warm"});
  REQUIRE(sb.wait_for_state(id, "FINISHED"));
  // The final states are counted from the store: the end is there once committed, a moment later.
  Reply m;
  CHECK(eventually(
      [&] {
        m = curl(sb, url + "/metrics", {});
        return m.status == 200 && sample(m.body, "sjs_jobs{state=\"FINISHED\"}") == 1.0;
      },
      10));
  REQUIRE(m.status == 200);
  CHECK(m.headers["content-type"].rfind("text/plain; version=0.0.4", 0) == 0);
  CHECK(m.headers["cache-control"] == "no-store");
  const std::string& t = m.body;
  INFO(t);
  for (const char* family :
       {"sjs_jobs", "sjs_context_queue_depth", "sjs_context_running_jobs", "sjs_job_queue_wait_seconds",
        "sjs_job_run_seconds", "sjs_store_bytes", "sjs_http_requests_total"}) {
    CHECK(t.find(std::string("# TYPE ") + family + " ") != std::string::npos);
  }
  CHECK(sample(t, "sjs_jobs{state=\"FINISHED\"}") == 1.0);
  CHECK(sample(t, "sjs_jobs{state=\"RUNNING\"}") == 0.0);
  CHECK(sample(t, "sjs_context_queue_depth{context=\"warm\"}") == 0.0);
  CHECK(sample(t, "sjs_context_running_jobs{context=\"warm\"}") == 0.0);
  CHECK(sample(t, "sjs_job_run_seconds_count") == 1.0);
  CHECK(sample(t, "sjs_job_queue_wait_seconds_count") == 1.0);
  CHECK(sample(t, "sjs_job_run_seconds_bucket{le=\"+Inf\"}") == 1.0);
  const auto job = sb.job_json(id);
  const double run_s =
      static_cast<double>(job["ended_ms"].get<std::int64_t>() - job["started_ms"].get<std::int64_t>()) / 1000;
  CHECK(sample(t, "sjs_job_run_seconds_sum").value_or(-1) == Approx(run_s).margin(0.0015));
  CHECK(sample(t, "sjs_store_bytes").value_or(0) > 0);
  CHECK(sample(t, "sjs_http_requests_total{code=\"200\"}").value_or(0) >= 1);  // the first scrape

  // A running job shows as RUNNING in its context.
  const std::string gate = sb.dir() + "/gate";
  sb.upload_script("held", wait_for_file(gate));
  const std::string held = sb.submit({"held", "-c", "warm"});
  REQUIRE(sb.wait_for_state(held, "RUNNING"));
  auto running = curl(sb, url + "/metrics", {}).body;
  CHECK(sample(running, "sjs_jobs{state=\"RUNNING\"}") == 1.0);
  CHECK(sample(running, "sjs_context_running_jobs{context=\"warm\"}") == 1.0);
  touch(gate);
  REQUIRE(sb.wait_for_state(held, "FINISHED"));
  CHECK(eventually([&] { return sample(curl(sb, url + "/metrics", {}).body, "sjs_jobs{state=\"FINISHED\"}") == 2.0; },
                   10));
  auto after = curl(sb, url + "/metrics", {}).body;
  CHECK(sample(after, "sjs_job_run_seconds_count") == 2.0);
  CHECK(sample(after, "sjs_context_running_jobs{context=\"warm\"}") == 0.0);
}

TEST_CASE("GET /openapi.json is an OpenAPI 3 document that lists every route the server answers", "[http-auth]") {
  Sandbox sb(k_http_conf);
  const std::string url = start_http(sb);
  auto r = curl(sb, url + "/openapi.json", {});
  REQUIRE(r.status == 200);
  const json doc = r.js();
  CHECK(doc["openapi"].get<std::string>().rfind("3.", 0) == 0);
  REQUIRE(doc["paths"].is_object());
  const json& paths = doc["paths"];

  // Does a documented path template ("/jobs/{id}") match a concrete path ("/jobs/abc")?
  auto documented = [&](const std::string& method, const std::string& path) {
    for (auto it = paths.begin(); it != paths.end(); ++it) {
      std::string re = std::regex_replace(it.key(), std::regex(R"([.])"), R"(\.)");
      re = std::regex_replace(re, std::regex(R"(\{[^}]+\})"), "[^/]+");
      if (std::regex_match(path, std::regex(re)) && it.value().contains(method)) {
        const json& op = it.value()[method];
        return op.contains("responses") && !op["responses"].empty();
      }
    }
    return false;
  };

  // Every op of sjs's own API has its path, and the other routes of the contract are there.
  for (const char* op : {"hello",        "binary.list",  "binary.show",    "binary.delete",   "context.create",
                         "context.list", "context.show", "context.delete", "context.restart", "context.objects",
                         "job.submit",   "job.status",   "job.result",     "job.config",      "job.log",
                         "job.list",     "job.kill",     "job.wait",       "daemon.status",   "daemon.stop"}) {
    CHECK(documented("post", std::string("/sjs/v1/") + op));
  }
  const std::vector<std::pair<std::string, std::string>> contract = {
      {"get", "/binaries"},
      {"get", "/binaries/b"},
      {"post", "/binaries/b"},
      {"delete", "/binaries/b"},
      {"get", "/jars"},
      {"post", "/jars/b"},
      {"get", "/contexts"},
      {"put", "/contexts"},
      {"get", "/contexts/c"},
      {"post", "/contexts/c"},
      {"delete", "/contexts/c"},
      {"get", "/jobs"},
      {"post", "/jobs"},
      {"get", "/jobs/j"},
      {"delete", "/jobs/j"},
      {"get", "/jobs/j/config"},
      {"get", "/jobs/j/log"},
      {"get", "/data"},
      {"put", "/data"},
      {"post", "/data/d"},
      {"delete", "/data/d"},
      {"get", "/healthz"},
      {"get", "/metrics"},
      {"get", "/openapi.json"},
      {"post", "/sjs/v1/upload/b"},
  };

  for (const auto& [method, path] : contract) {
    INFO(method << " " << path);
    CHECK(documented(method, path));
  }

  // Probe the server: whatever it answers other than with its "no route" 404 must be documented.
  std::vector<std::pair<std::string, std::string>> probes = contract;
  for (auto it = paths.begin(); it != paths.end(); ++it) {
    if (it.key() == "/sjs/v1/daemon.stop") continue;  // would stop the daemon under test
    std::string concrete = std::regex_replace(it.key(), std::regex(R"(\{[^}]+\})"), "nosuch");
    for (auto m = it.value().begin(); m != it.value().end(); ++m) probes.emplace_back(m.key(), concrete);
  }
  probes.insert(probes.end(), {{"get", "/jobs/j/nosuch"}, {"patch", "/jobs"}, {"get", "/nosuch"}});
  int answered = 0;
  for (const auto& [method, path] : probes) {
    std::string upper = method;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::vector<std::string> args = {"-X", upper};
    if (method == "post" || method == "put") args.insert(args.end(), {"--data-binary", "{}"});
    auto p = curl(sb, url + path, args);
    INFO(upper << " " << path << " -> " << p.status << " " << p.body);
    REQUIRE(p.status != 0);
    // Not answered: the "no route" 404, or a 405 for a method the route does not take.
    const bool no_route = (p.status == 404 && p.body.find("no route for") != std::string::npos) || p.status == 405;
    if (no_route) continue;
    ++answered;
    CHECK(documented(method, path));
  }
  CHECK(answered >= 23);  // at least every op of sjs's own API (daemon.stop aside) and the extensions
  // The fallback itself: unknown routes are a 404, not documented.
  auto unknown = curl(sb, url + "/nosuch", {});
  CHECK(unknown.status == 404);
  CHECK_FALSE(documented("get", "/nosuch"));
}

TEST_CASE(
    "A keep-alive load of 10,000 authenticated requests over 4 connections has no errors and the daemon's "
    "memory stays flat",
    "[http-auth]") {
  Sandbox sb(k_http_conf);
  add_user(sb, "load", "pw-load", "jobs:read");
  const std::string url = start_http(sb);
  sb.upload_script("quick", "echo '{\"n\": 1}'");
  const std::string id = sb.submit({"quick"});
  REQUIRE(sb.wait_for_state(id, "FINISHED"));
  const int pid = sb.daemon_pid();
  REQUIRE(pid > 0);
  const std::string port = url.substr(url.rfind(':') + 1);

  // Two halves of 5,000 requests on the same 4 connections; VmRSS after each half.
  const std::string script = sb.write_file("load.py", R"PY(
import base64, http.client, json, sys, threading
port, pid, job_id = int(sys.argv[1]), sys.argv[2], sys.argv[3]
auth = "Basic " + base64.b64encode(b"load:pw-load").decode()
body = json.dumps({"id": job_id})
conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(4)]
errors, reconnects = [], [0]

def rss_kb():
    for line in open("/proc/%s/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

def worker(conn, n):
    sock = None
    for _ in range(n):
        try:
            conn.request("POST", "/sjs/v1/job.status", body=body,
                         headers={"Authorization": auth, "Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
            if resp.status != 200 or json.loads(data)["result"]["job"]["state"] != "FINISHED":
                errors.append("%d %s" % (resp.status, data[:200]))
        except Exception as e:
            errors.append(repr(e))
            conn.close()
        if sock is not None and conn.sock is not sock:
            reconnects[0] += 1
        sock = conn.sock

def half():
    threads = [threading.Thread(target=worker, args=(c, 1250)) for c in conns]
    for t in threads: t.start()
    for t in threads: t.join()
    return rss_kb()

rss1 = half()
rss2 = half()
print(json.dumps({"errors": len(errors), "first_errors": errors[:5], "reconnects": reconnects[0],
                  "rss1_kb": rss1, "rss2_kb": rss2}))
)PY");
  auto r = run_process({"/usr/bin/python3", script, port, std::to_string(pid), id}, {}, "", 240);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  auto res = json::parse(r.out);
  CHECK(res["errors"] == 0);
  CHECK(res["reconnects"] == 0);  // keep-alive held on every connection
  const double rss1 = res["rss1_kb"].get<double>(), rss2 = res["rss2_kb"].get<double>();
  CHECK(rss1 > 0);
  CHECK(rss2 <= rss1 * 1.10);
}

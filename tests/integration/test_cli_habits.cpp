// The habits users bring to a CLI and an API (issue "Operate it", section 5): global options after
// the command, HOCON's spacing in --conf, a token usable the moment it is made, and a chatty exec job
// whose exit 0 still means success.
#include <string>

#include <catch2/catch.hpp>

#include "harness.hpp"
#include "http_sandbox.hpp"

using namespace sjs::test;
using nlohmann::json;

TEST_CASE("global options work after the command too: sjs job list --json, sjs binary list -q", "[cli]") {
  Sandbox sb;
  sb.upload_script("hello", "echo '{\"n\": 1}'");
  auto before = sb.sjs({"--json", "job", "submit", "hello", "--sync"});
  REQUIRE(before.exit_code == 0);
  auto after = sb.sjs({"job", "submit", "hello", "--sync", "--json"});
  INFO(after.err);
  REQUIRE(after.exit_code == 0);
  CHECK(json::parse(after.out)["result"] == json{{"n", 1}});
  auto list = sb.sjs({"job", "list", "--json"});
  REQUIRE(list.exit_code == 0);
  CHECK(json::parse(list.out)["jobs"].size() == 2);
  auto quiet = sb.sjs({"binary", "upload", "hello2", sb.write_file("h2.sh", "#!/bin/sh\necho 2\n", 0755), "-q"});
  CHECK(quiet.exit_code == 0);
  CHECK(quiet.err.empty());
  auto status = sb.sjs({"daemon", "status", "--json"});
  CHECK(status.exit_code == 0);
  CHECK(json::parse(status.out).contains("pid"));
  // A misspelt option is still a usage error.
  CHECK(sb.sjs({"job", "list", "--jsn"}).exit_code == 2);
}

TEST_CASE("conf pairs take HOCON's own spacing: input.string = a b c sets key input.string", "[cli]") {
  Sandbox sb;
  sb.upload_script("echoconf", "cat \"$SJS_CONFIG\"");
  auto r = sb.sjs_json({"job", "submit", "echoconf", "--conf", "input.string = a b c", "--conf", "n =  2", "--sync"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  json result = json::parse(r.out)["result"];
  CHECK(result["input"]["string"] == "a b c");
  CHECK(result["n"] == 2);
}

TEST_CASE("an exec job that exits 0 but prints more than the result limit ends FINISHED with no result and a "
          "warning in its log",
          "[cli]") {
  Sandbox sb("store.max-result-bytes = 1000\n");
  sb.upload_script("chatty", "i=0\nwhile [ $i -lt 200 ]; do echo \"line $i of a chatty script\"; i=$((i+1)); done\n");
  int code = -1;
  json r = sb.submit_sync_json({"chatty"}, &code);
  CHECK(code == 0);
  CHECK(r["job"]["state"] == "FINISHED");
  CHECK(r["job"]["has_result"] == false);
  const std::string log = sb.sjs({"job", "log", r["job"]["id"]}).out;
  CHECK(contains(log, "line 199 of a chatty script"));
  CHECK(contains(log, "over the result limit of 1000 (store.max-result-bytes): it has no result"));
  // A job whose result file is too large still fails: it meant that as its result.
  sb.upload_script("bigresult", "printf '\"%s\"' \"$(head -c 2000 /dev/zero | tr '\\0' x)\" > \"$SJS_RESULT\"\n");
  json big = sb.submit_sync_json({"bigresult"}, &code);
  CHECK(code == 1);
  CHECK(big["job"]["error"]["errorClass"] == "sjs.ResultTooLarge");
}

TEST_CASE("a token made with sjs user token works at once, and the first user turns auth on at once", "[cli][http]") {
  HttpSandbox h;
  const Sandbox& sb = h.sb();
  REQUIRE(sb.sjs({"user", "add", "ann", "--password-stdin", "--permissions", "jobs:read"}, "pw\n").exit_code == 0);
  // The first user turns authentication on at once: no window where anyone gets in.
  CHECK(h.get("/jobs").status == 401);
  CHECK(h.request("GET", "/jobs", std::nullopt, {"Authorization: Bearer " + std::string(64, 'e')}).status == 401);
  for (int i = 0; i < 5; ++i) {
    auto made = sb.sjs({"user", "token", "ann"});
    REQUIRE(made.exit_code == 0);
    auto r = h.request("GET", "/jobs", std::nullopt, {"Authorization: Bearer " + trim(made.out)});
    INFO("round " << i << ": " << r.body);
    CHECK(r.status == 200);
  }
  REQUIRE(sb.sjs({"user", "add", "bob", "--password-stdin", "--permissions", "jobs:read"}, "pw2\n").exit_code == 0);
  auto basic = h.request("GET", "/jobs", std::nullopt, {"Authorization: Basic Ym9iOnB3Mg=="});  // bob:pw2
  CHECK(basic.status == 200);
  CHECK(h.request("GET", "/jobs", std::nullopt, {"Authorization: Bearer " + std::string(64, 'f')}).status == 401);
}

TEST_CASE("the script forms: job submit --parsable prints the id alone, job list --format COLUMNS --no-header",
          "[cli]") {
  Sandbox sb;
  sb.upload_script("hello", "echo 1");
  auto r = sb.sjs({"job", "submit", "hello", "--parsable"});
  REQUIRE(r.exit_code == 0);
  const std::string id = trim(r.out);
  CHECK(id.size() == 36);
  CHECK(r.err.empty());
  REQUIRE(sb.wait_for_state(id, "FINISHED"));
  CHECK(sb.sjs({"job", "submit", "hello", "--parsable", "--sync"}).exit_code == 2);

  auto table = sb.sjs({"job", "list", "--format", "state,id,exit", "--no-header"});
  REQUIRE(table.exit_code == 0);
  const auto lines = lines_of(table.out);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("FINISHED  " + id + "  0", 0) == 0);
  auto headed = sb.sjs({"job", "list", "--format", "ID,entry"});
  REQUIRE(headed.exit_code == 0);
  CHECK(lines_of(headed.out)[0].rfind("ID", 0) == 0);
  CHECK(contains(lines_of(headed.out)[0], "ENTRY"));
  auto bad = sb.sjs({"job", "list", "--format", "id,color"});
  CHECK(bad.exit_code == 2);
  CHECK(contains(bad.err, "unknown column \"color\""));
}

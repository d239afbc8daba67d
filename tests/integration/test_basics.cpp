// Binaries, contexts and the README example, driven through the real sjs
// against a real sjsd in a sandbox.
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace sjs::test;
using nlohmann::json;

namespace {

std::string sha256_of(const std::string& path) {
  auto r = run_process({"/usr/bin/sha256sum", path});
  REQUIRE(r.exit_code == 0);
  return r.out.substr(0, 64);
}

}  // namespace

// ---- binaries -------------------------------------------------------------------

TEST_CASE("binary upload detects an exec script and reports name, version 1, size and sha256", "[basics][binary]") {
  Sandbox sb(k_fast_grace_conf);
  std::string path = sb.write_file("hello.sh", "#!/bin/sh\necho hello\n", 0755);
  auto r = sb.sjs_json({"binary", "upload", "hello", path});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto b = r.json();
  CHECK(b["name"] == "hello");
  CHECK(b["version"] == 1);
  CHECK(b["type"] == "exec");
  CHECK(b["size"] == std::filesystem::file_size(path));
  CHECK(b["sha256"] == sha256_of(path));

  // Human form: a message on stderr naming the binary, its version and type.
  std::string path2 = sb.write_file("other.sh", "#!/bin/sh\necho other\n", 0755);
  auto h = sb.sjs({"binary", "upload", "other", path2});
  REQUIRE(h.exit_code == 0);
  CHECK(h.err.find("other") != std::string::npos);
  CHECK(h.err.find("exec") != std::string::npos);
}

TEST_CASE("binary list and show give the newest version per name and every version oldest first",
          "[basics][binary]") {
  Sandbox sb(k_fast_grace_conf);
  sb.upload_script("tool", "echo '\"v1\"'");
  sb.upload_script("zeta", "echo z");
  std::string v2 = sb.write_file("tool-v2.sh", "#!/bin/sh\necho '\"v2\"'\n", 0755);
  auto up = sb.sjs_json({"binary", "upload", "tool", v2});
  REQUIRE(up.exit_code == 0);
  CHECK(up.json()["version"] == 2);

  auto list = sb.sjs_json({"binary", "list"});
  REQUIRE(list.exit_code == 0);
  auto bins = list.json()["binaries"];
  REQUIRE(bins.is_array());
  REQUIRE(bins.size() == 2);
  json tool;
  for (const auto& b : bins) {
    if (b["name"] == "tool") tool = b;
  }
  REQUIRE(tool.is_object());
  CHECK(tool["version"] == 2);
  CHECK(tool["versions"] == 2);
  CHECK(tool["type"] == "exec");
  CHECK(tool["sha256"] == sha256_of(v2));

  auto show = sb.sjs_json({"binary", "show", "tool"});
  REQUIRE(show.exit_code == 0);
  auto s = show.json();
  CHECK(s["name"] == "tool");
  REQUIRE(s["versions"].size() == 2);
  CHECK(s["versions"][0]["version"] == 1);
  CHECK(s["versions"][1]["version"] == 2);
  CHECK(s["versions"][1]["sha256"] == sha256_of(v2));
  CHECK(s["versions"][0]["sha256"] != s["versions"][1]["sha256"]);

  // Human forms: tables with a header and one row per binary / version.
  auto hl = sb.sjs({"binary", "list"});
  REQUIRE(hl.exit_code == 0);
  CHECK(hl.out.find("NAME") != std::string::npos);
  CHECK(hl.out.find("tool") != std::string::npos);
  CHECK(hl.out.find("zeta") != std::string::npos);
  auto hs = sb.sjs({"binary", "show", "tool"});
  REQUIRE(hs.exit_code == 0);
  CHECK(hs.out.find(sha256_of(v2)) != std::string::npos);

  CHECK(sb.sjs({"binary", "show", "nosuch"}).exit_code == 7);
}

TEST_CASE("a re-uploaded binary runs its newest version and the job records binary_version 2", "[basics][binary]") {
  Sandbox sb(k_fast_grace_conf);
  sb.upload_script("ver", "echo '{\"from\": 1}'");
  auto r1 = sb.sjs_json({"job", "submit", "ver", "--sync"});
  REQUIRE(r1.exit_code == 0);
  CHECK(r1.json()["job"]["binary_version"] == 1);
  CHECK(r1.json()["result"]["from"] == 1);

  sb.upload_script("ver", "echo '{\"from\": 2}'");
  auto r2 = sb.sjs_json({"job", "submit", "ver", "--sync"});
  REQUIRE(r2.exit_code == 0);
  auto j = r2.json();
  CHECK(j["job"]["binary_version"] == 2);
  CHECK(j["result"]["from"] == 2);
  CHECK(sb.job_json(j["job"]["id"])["binary_version"] == 2);
}

TEST_CASE("binary delete --version removes one version, without it every version goes", "[basics][binary]") {
  Sandbox sb(k_fast_grace_conf);
  sb.upload_script("multi", "echo 1");
  sb.upload_script("multi", "echo 2");
  sb.upload_script("multi", "echo 3");

  auto d1 = sb.sjs_json({"binary", "delete", "multi", "--version", "1"});
  INFO(d1.err);
  REQUIRE(d1.exit_code == 0);
  CHECK(d1.json()["deleted"] == 1);
  auto show = sb.sjs_json({"binary", "show", "multi"}).json();
  REQUIRE(show["versions"].size() == 2);
  CHECK(show["versions"][0]["version"] == 2);
  CHECK(show["versions"][1]["version"] == 3);

  // Deleting a version that is gone is "not found".
  CHECK(sb.sjs({"binary", "delete", "multi", "--version", "1"}).exit_code == 7);

  auto all = sb.sjs_json({"binary", "delete", "multi"});
  REQUIRE(all.exit_code == 0);
  CHECK(all.json()["deleted"] == 2);
  CHECK(sb.sjs({"binary", "show", "multi"}).exit_code == 7);
  CHECK(sb.sjs_json({"binary", "list"}).json()["binaries"].empty());
  CHECK(sb.sjs({"binary", "delete", "multi"}).exit_code == 7);
}

TEST_CASE("binary delete is refused (exit 9, in use) while a job of it is queued or running", "[basics][binary]") {
  Sandbox sb(k_fast_grace_conf);
  const std::string gate = sb.dir() + "/gate";
  sb.upload_script("blocker", wait_for_file(gate));
  sb.upload_script("victim", "echo done");
  REQUIRE(sb.sjs({"context", "create", "one", "--max-jobs", "1"}).exit_code == 0);

  std::string running = sb.submit({"blocker", "--context", "one"});
  REQUIRE(sb.wait_for_state(running, "RUNNING", 10));
  std::string queued = sb.submit({"victim", "--context", "one"});
  CHECK(sb.job_json(queued)["state"] == "QUEUED");

  auto q = sb.sjs({"binary", "delete", "victim"});
  CHECK(q.exit_code == 9);
  CHECK(q.err.find("in use") != std::string::npos);
  auto r = sb.sjs({"binary", "delete", "blocker", "--version", "1"});
  CHECK(r.exit_code == 9);
  CHECK(r.err.find("in use") != std::string::npos);
  // Both are still there.
  CHECK(sb.sjs({"binary", "show", "victim"}).exit_code == 0);
  CHECK(sb.sjs({"binary", "show", "blocker"}).exit_code == 0);

  touch(gate);
  CHECK(sb.sjs({"job", "wait", queued}).exit_code == 0);
  CHECK(sb.sjs({"job", "wait", running}).exit_code == 0);
  CHECK(sb.sjs({"binary", "delete", "victim"}).exit_code == 0);
  CHECK(sb.sjs({"binary", "delete", "blocker"}).exit_code == 0);
  CHECK(sb.sjs({"binary", "show", "victim"}).exit_code == 7);
}

TEST_CASE("binary upload --type jar of a file that is not a zip is refused with exit 8", "[basics][binary]") {
  Sandbox sb(k_fast_grace_conf);
  std::string path = sb.write_file("fake.jar", "this is not a zip archive\n");
  auto r = sb.sjs({"binary", "upload", "fake", path, "--type", "jar"});
  CHECK(r.exit_code == 8);
  CHECK(r.err.find("zip") != std::string::npos);
  CHECK(sb.sjs({"binary", "show", "fake"}).exit_code == 7);
  // `jar upload` is the same check.
  CHECK(sb.sjs({"jar", "upload", "fake", path}).exit_code == 8);
}

TEST_CASE("jar upload of a real jar stores it with type jar", "[basics][binary]") {
  Sandbox sb(k_fast_grace_conf);
  std::string path = sb.dir() + "/real.jar";
  auto mk = run_process({"/usr/bin/python3", "-c",
                         "import sys, zipfile\n"
                         "with zipfile.ZipFile(sys.argv[1], 'w') as z:\n"
                         "    z.writestr('META-INF/MANIFEST.MF', 'Manifest-Version: 1.0\\n')\n"
                         "    z.writestr('example/Job.class', b'\\xca\\xfe\\xba\\xbe')\n",
                         path});
  INFO(mk.err);
  REQUIRE(mk.exit_code == 0);
  auto r = sb.sjs_json({"jar", "upload", "myjar", path});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto b = r.json();
  CHECK(b["type"] == "jar");
  CHECK(b["version"] == 1);
  CHECK(b["sha256"] == sha256_of(path));
  CHECK(sb.sjs_json({"binary", "show", "myjar"}).json()["versions"][0]["type"] == "jar");
  // Type detection knows a zip too.
  auto d = sb.sjs_json({"binary", "upload", "detected", path});
  REQUIRE(d.exit_code == 0);
  CHECK(d.json()["type"] == "jar");
}

// ---- contexts -------------------------------------------------------------------

TEST_CASE("context create with --max-jobs and --set env.X: shown by create, list and show, jobs see the env",
          "[basics][context]") {
  Sandbox sb(k_fast_grace_conf);
  auto c = sb.sjs_json({"context", "create", "greet", "--max-jobs", "2", "--set", "env.GREETING=hi"});
  INFO(c.err);
  REQUIRE(c.exit_code == 0);
  auto ci = c.json();
  CHECK(ci["name"] == "greet");
  CHECK(ci["runtime"] == "exec");
  CHECK(ci["state"] == "RUNNING");
  CHECK(ci["max_jobs"] == 2);
  CHECK(ci["adhoc"] == false);
  CHECK(ci["settings"]["env"]["GREETING"] == "hi");

  auto list = sb.sjs_json({"context", "list"});
  REQUIRE(list.exit_code == 0);
  auto ctxs = list.json()["contexts"];
  REQUIRE(ctxs.size() == 1);
  CHECK(ctxs[0]["name"] == "greet");
  CHECK(ctxs[0]["max_jobs"] == 2);

  auto show = sb.sjs_json({"context", "show", "greet"});
  REQUIRE(show.exit_code == 0);
  CHECK(show.json()["state"] == "RUNNING");
  CHECK(show.json()["settings"]["env"]["GREETING"] == "hi");
  auto human = sb.sjs({"context", "show", "greet"});
  REQUIRE(human.exit_code == 0);
  CHECK(human.out.find("greet") != std::string::npos);
  CHECK(human.out.find("RUNNING") != std::string::npos);
  CHECK(sb.sjs({"context", "show", "nosuch"}).exit_code == 7);

  sb.upload_script("env", "printf '%s' \"$GREETING\"");
  auto r = sb.sjs({"job", "submit", "env", "--context", "greet", "--sync"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "hi\n");
  // An ad-hoc job does not get the context's environment.
  auto adhoc = sb.sjs_json({"job", "submit", "env", "--sync"});
  REQUIRE(adhoc.exit_code == 0);
  CHECK(adhoc.json()["result"] != "hi");
}

TEST_CASE("context create of an existing name is exit 9, delete removes it, delete of an unknown one is exit 7",
          "[basics][context]") {
  Sandbox sb(k_fast_grace_conf);
  REQUIRE(sb.sjs({"context", "create", "dup"}).exit_code == 0);
  auto again = sb.sjs({"context", "create", "dup"});
  CHECK(again.exit_code == 9);
  CHECK(again.err.find("dup") != std::string::npos);

  auto d = sb.sjs({"context", "delete", "dup"});
  INFO(d.err);
  CHECK(d.exit_code == 0);
  CHECK(sb.sjs({"context", "show", "dup"}).exit_code == 7);
  CHECK(sb.sjs_json({"context", "list"}).json()["contexts"].empty());
  CHECK(sb.sjs({"context", "delete", "dup"}).exit_code == 7);
  CHECK(sb.sjs({"context", "delete", "never"}).exit_code == 7);
  // The name is free again.
  CHECK(sb.sjs({"context", "create", "dup"}).exit_code == 0);
}

TEST_CASE("context delete with a running job is refused without --force, --force kills the job",
          "[basics][context]") {
  Sandbox sb(k_fast_grace_conf);
  const std::string gate = sb.dir() + "/gate";
  sb.upload_script("blocker", wait_for_file(gate));
  REQUIRE(sb.sjs({"context", "create", "busy"}).exit_code == 0);
  std::string id = sb.submit({"blocker", "--context", "busy"});
  REQUIRE(sb.wait_for_state(id, "RUNNING", 10));

  auto refused = sb.sjs({"context", "delete", "busy"});
  CHECK(refused.exit_code == 9);
  CHECK(sb.sjs({"context", "show", "busy"}).exit_code == 0);
  CHECK(sb.job_json(id)["state"] == "RUNNING");

  auto forced = sb.sjs({"context", "delete", "busy", "--force"}, "", 20);
  INFO(forced.err);
  CHECK(forced.exit_code == 0);
  CHECK(sb.sjs({"job", "wait", id}).exit_code == 4);
  auto st = sb.job_json(id);
  CHECK(st["state"] == "KILLED");
  CHECK(st["end_reason"] == "killed");
  CHECK(sb.sjs({"context", "show", "busy"}).exit_code == 7);
}

TEST_CASE("context restart kills its running job, gets a new id, and then runs the queued one",
          "[basics][context]") {
  Sandbox sb(k_fast_grace_conf);
  const std::string gate = sb.dir() + "/gate";
  sb.upload_script("blocker", wait_for_file(gate));
  sb.upload_script("quick", "echo '\"after restart\"'");
  auto created = sb.sjs_json({"context", "create", "rs", "--max-jobs", "1"});
  REQUIRE(created.exit_code == 0);
  const std::string old_id = created.json()["id"];

  std::string running = sb.submit({"blocker", "--context", "rs"});
  REQUIRE(sb.wait_for_state(running, "RUNNING", 10));
  std::string queued = sb.submit({"quick", "--context", "rs"});

  auto r = sb.sjs_json({"context", "restart", "rs"}, 20);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.json()["state"] == "RUNNING");
  CHECK(r.json()["id"] != old_id);
  CHECK(sb.sjs({"job", "wait", running}).exit_code == 4);
  auto w = sb.sjs({"job", "wait", queued});
  CHECK(w.exit_code == 0);
  CHECK(w.out == "after restart\n");
  CHECK(sb.sjs_json({"context", "show", "rs"}).json()["state"] == "RUNNING");
  CHECK(sb.sjs({"context", "restart", "nosuch"}).exit_code == 7);
}

// ---- the README example -----------------------------------------------------------

TEST_CASE("README: wordcount.py counts the words of input.string", "[basics][readme]") {
  Sandbox sb(k_fast_grace_conf);
  const std::string script = std::string(k_source) + "/examples/exec/wordcount.py";
  REQUIRE(std::filesystem::exists(script));
  auto up = sb.sjs({"binary", "upload", "wordcount", script});
  INFO(up.err);
  REQUIRE(up.exit_code == 0);
  auto r = sb.sjs({"job", "submit", "wordcount", "--sync", "--conf", "input.string=a b a"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.json() == json{{"a", 2}, {"b", 1}});
}

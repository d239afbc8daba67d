// Bad input of every kind: each gets a clear message and its own exit code (or
// error frame), and afterwards the daemon still serves and has lost nothing.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.hpp"
#include "sjs/framing.hpp"

using namespace sjs::test;
using nlohmann::json;

namespace {

// A sandbox with something stored in it: a binary and a FINISHED job.
struct Stocked {
  Sandbox sb;
  std::string job_id;

  Stocked() {
    sb.upload_script("keeper", "echo '{\"kept\": true}'");
    auto r = sb.sjs_json({"job", "submit", "keeper", "--sync"});
    if (r.exit_code != 0) throw std::runtime_error("setup job failed: " + r.err);
    job_id = r.json()["job"]["id"].get<std::string>();
  }

  // The daemon still answers, and what was stored before is all there.
  void check_intact() const {
    auto list = sb.sjs({"--no-autostart", "binary", "list"});
    INFO("binary list: " << list.err);
    CHECK(list.exit_code == 0);
    CHECK(list.out.find("keeper") != std::string::npos);
    auto res = sb.sjs_json({"--no-autostart", "job", "result", job_id});
    CHECK(res.exit_code == 0);
    CHECK(res.json()["job"]["state"] == "FINISHED");
    CHECK(res.json()["result"] == json{{"kept", true}});
  }
};

// An error answer from the CLI: the exit code, and a message on stderr naming the problem.
void check_refused(const RunResult& r, int exit_code, const std::string& mentions = "") {
  INFO("stderr: " << r.err << "\nstdout: " << r.out);
  CHECK(r.exit_code == exit_code);
  CHECK(!r.err.empty());
  if (!mentions.empty()) CHECK(r.err.find(mentions) != std::string::npos);
}

// ---- raw socket -----------------------------------------------------------------

int connect_raw(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(path.size() < sizeof addr.sun_path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

void send_bytes(int fd, const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    REQUIRE(n > 0);
    off += static_cast<std::size_t>(n);
  }
}

// Reads until `want` bytes are buffered, the peer closes, or the limit passes.
// Returns false on timeout; `closed` tells whether the peer closed.
bool read_some(int fd, std::string& buf, std::size_t want, bool& closed, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long>(timeout_s * 1000));
  closed = false;
  while (buf.size() < want) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char tmp[65536];
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      closed = true;
      return true;
    }
    buf.append(tmp, static_cast<std::size_t>(n));
  }
  return true;
}

// One answer frame from the daemon, parsed; nullopt if none came (closed or timed out).
std::optional<json> read_frame(int fd, std::string& buf, double timeout_s = 10) {
  bool closed = false;
  if (!read_some(fd, buf, sjs::k_frame_header_size, closed, timeout_s) || buf.size() < sjs::k_frame_header_size) {
    return std::nullopt;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(buf.data());
  const std::size_t n = (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) | (std::size_t{p[2]} << 8) | p[3];
  REQUIRE(n < (1u << 20));
  if (!read_some(fd, buf, sjs::k_frame_header_size + n, closed, timeout_s) ||
      buf.size() < sjs::k_frame_header_size + n) {
    return std::nullopt;
  }
  json j = json::parse(buf.substr(sjs::k_frame_header_size, n), nullptr, false);
  buf.erase(0, sjs::k_frame_header_size + n);
  REQUIRE(!j.is_discarded());
  return j;
}

// Sends `payload` as one frame on a new connection and returns the answer frame (REQUIREd).
json answer_to(const std::string& socket, const std::string& payload) {
  int fd = connect_raw(socket);
  send_bytes(fd, sjs::encode_frame(payload));
  std::string buf;
  auto frame = read_frame(fd, buf);
  ::close(fd);
  REQUIRE(frame);
  return *frame;
}

// True if the daemon closes the connection (within the limit) with nothing more to say.
bool closed_by_peer(int fd, std::string& buf, double timeout_s = 10) {
  bool closed = false;
  read_some(fd, buf, buf.size() + 1, closed, timeout_s);
  return closed && buf.empty();
}

void check_error_frame(const json& frame, const std::vector<std::string>& codes) {
  INFO(frame.dump());
  CHECK(frame.value("ok", true) == false);
  REQUIRE(frame.contains("error"));
  const std::string code = frame["error"].value("code", "");
  CHECK(std::find(codes.begin(), codes.end(), code) != codes.end());
  CHECK(!frame["error"].value("message", "").empty());
}

long rss_kib(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

}  // namespace

// ---- config -----------------------------------------------------------------------

TEST_CASE("a malformed --conf-file or a --conf without '=' exits 8 saying where the problem is", "[bad-input]") {
  Stocked s;
  const std::string bad = s.sb.write_file("bad.conf", "input {\n  words = [\"a\", \"b\"\n");
  auto r = s.sb.sjs({"job", "submit", "keeper", "--conf-file", bad});
  check_refused(r, 8, "line");
  CHECK(r.err.find("column") != std::string::npos);
  CHECK(r.err.find("bad.conf") != std::string::npos);

  const std::string bad2 = s.sb.write_file("bad2.conf", "a = 1\nb = }\n");
  auto r2 = s.sb.sjs({"job", "submit", "keeper", "--conf-file", bad2});
  check_refused(r2, 8, "line 2");
  CHECK(r2.err.find("column") != std::string::npos);

  check_refused(s.sb.sjs({"job", "submit", "keeper", "--conf", "novalue"}), 8, "novalue");
  check_refused(s.sb.sjs({"job", "submit", "keeper", "--conf-file", s.sb.dir() + "/missing.conf"}), 8);

  // No job came of any of it.
  auto list = s.sb.sjs_json({"job", "list"});
  REQUIRE(list.exit_code == 0);
  CHECK(list.json()["jobs"].size() == 1);
  s.check_intact();
}

// ---- not found ----------------------------------------------------------------------

TEST_CASE("an unknown binary, context or job id exits 7 with a message naming it", "[bad-input]") {
  Stocked s;
  check_refused(s.sb.sjs({"job", "submit", "nosuchbin"}), 7, "nosuchbin");
  check_refused(s.sb.sjs({"binary", "show", "nosuchbin"}), 7, "nosuchbin");
  check_refused(s.sb.sjs({"binary", "delete", "nosuchbin"}), 7, "nosuchbin");
  check_refused(s.sb.sjs({"job", "submit", "keeper", "-c", "nosuchctx"}), 7, "nosuchctx");
  check_refused(s.sb.sjs({"context", "show", "nosuchctx"}), 7, "nosuchctx");
  check_refused(s.sb.sjs({"context", "delete", "nosuchctx"}), 7, "nosuchctx");
  check_refused(s.sb.sjs({"context", "restart", "nosuchctx"}), 7, "nosuchctx");
  const std::string ghost = "00000000-0000-4000-8000-000000000000";
  for (const char* cmd : {"status", "result", "kill", "wait", "log", "config"}) {
    INFO("job " << cmd);
    check_refused(s.sb.sjs({"job", cmd, ghost}), 7, ghost);
  }
  auto json_err = s.sb.sjs_json({"job", "status", ghost});
  CHECK(json_err.exit_code == 7);
  CHECK(json_err.json()["error"]["code"] == "not_found");
  s.check_intact();
}

// ---- uploads and names ----------------------------------------------------------------

TEST_CASE("uploading a non-executable as exec, an empty file or a missing file exits 8", "[bad-input]") {
  Stocked s;
  const std::string text = s.sb.write_file("notes.txt", "just some text\nno shebang\n", 0755);
  check_refused(s.sb.sjs({"binary", "upload", "notes", text, "--type", "exec"}), 8, "not executable");
  const std::string empty = s.sb.write_file("empty.sh", "", 0755);
  check_refused(s.sb.sjs({"binary", "upload", "empty", empty}), 8, "empty");
  const std::string missing = s.sb.dir() + "/no-such-file.sh";
  check_refused(s.sb.sjs({"binary", "upload", "missing", missing}), 8, "no-such-file.sh");
  check_refused(s.sb.sjs({"binary", "upload", "adir", s.sb.dir()}), 8);

  // None of them was recorded, not even as a failed version.
  for (const char* name : {"notes", "empty", "missing", "adir"}) {
    INFO(name);
    CHECK(s.sb.sjs({"binary", "show", name}).exit_code == 7);
  }
  s.check_intact();
}

TEST_CASE("binary names with '/', '..', a leading '.' or a space, and context names starting with a digit, exit 8",
          "[bad-input]") {
  Stocked s;
  const std::string script = s.sb.write_file("ok.sh", "#!/bin/sh\necho ok\n", 0755);
  for (const std::string name : {"a/b", "..", ".", ".hidden", "a b", "../escape", "_under"}) {
    INFO("binary name \"" << name << "\"");
    check_refused(s.sb.sjs({"binary", "upload", name, script}), 8, "name");
  }
  for (const std::string name : {"1ctx", "9", "a/b", "a b"}) {
    INFO("context name \"" << name << "\"");
    check_refused(s.sb.sjs({"context", "create", name}), 8, "name");
  }
  // Nothing escaped into the data dir, and only the stocked binary is listed.
  CHECK(!std::filesystem::exists(s.sb.dir() + "/escape"));
  auto list = s.sb.sjs_json({"binary", "list"});
  REQUIRE(list.exit_code == 0);
  CHECK(list.json()["binaries"].size() == 1);
  auto ctxs = s.sb.sjs_json({"context", "list"});
  REQUIRE(ctxs.exit_code == 0);
  int named = 0;
  const json contexts = ctxs.json()["contexts"];
  for (const auto& c : contexts) named += c["adhoc"] == true ? 0 : 1;
  CHECK(named == 0);
  s.check_intact();
}

// ---- garbage on the socket ----------------------------------------------------------------

TEST_CASE("text instead of a frame on the socket gets an error frame, then the connection is closed", "[bad-input]") {
  Stocked s;
  int fd = connect_raw(s.sb.socket());
  send_bytes(fd, "hello world\n");
  std::string buf;
  auto frame = read_frame(fd, buf);
  REQUIRE(frame);
  check_error_frame(*frame, {"too_large", "protocol"});
  CHECK(closed_by_peer(fd, buf));
  ::close(fd);
  s.check_intact();
}

TEST_CASE("a frame header announcing 1 GiB is refused as too_large without the daemon allocating it", "[bad-input]") {
  Stocked s;
  const int pid = s.sb.daemon_pid();
  const long before = rss_kib(pid);
  int fd = connect_raw(s.sb.socket());
  send_bytes(fd, std::string("\x40\x00\x00\x00", 4) + std::string(1000, 'x'));
  std::string buf;
  auto frame = read_frame(fd, buf);
  REQUIRE(frame);
  check_error_frame(*frame, {"too_large"});
  CHECK((*frame)["error"]["message"].get<std::string>().find("1073741824") != std::string::npos);
  CHECK(closed_by_peer(fd, buf));
  ::close(fd);
  const long after = rss_kib(pid);
  INFO("VmRSS before " << before << " KiB, after " << after << " KiB");
  CHECK(after - before < 64 * 1024);
  s.check_intact();
}

TEST_CASE("a frame that is not JSON gets a protocol error, a JSON request with an unknown op gets a usage error",
          "[bad-input]") {
  Stocked s;
  check_error_frame(answer_to(s.sb.socket(), "this is {not json"), {"protocol"});
  check_error_frame(answer_to(s.sb.socket(), R"(["an", "array", "not", "an", "object"])"), {"protocol"});
  const json frame = answer_to(s.sb.socket(), R"({"id": 42, "op": "no.such.op", "args": {}})");
  check_error_frame(frame, {"usage"});
  CHECK(frame["id"] == 42);
  CHECK(frame["error"]["message"].get<std::string>().find("no.such.op") != std::string::npos);
  s.check_intact();
}

TEST_CASE("clients that hang up in the middle of a frame do not disturb the daemon", "[bad-input]") {
  Stocked s;
  for (int i = 0; i < 10; ++i) {
    int fd = connect_raw(s.sb.socket());
    if (i % 2 == 0) {
      send_bytes(fd, std::string("\x00\x00", 2));  // half a header
    } else {
      std::string frame = sjs::encode_frame(R"({"id": 1, "op": "binary.list", "args": {}})");
      send_bytes(fd, frame.substr(0, frame.size() / 2));  // half a payload
    }
    ::close(fd);
  }
  // And a client that sends a request and leaves before the answer.
  int fd = connect_raw(s.sb.socket());
  send_bytes(fd, sjs::encode_frame(R"({"id": 1, "op": "job.wait", "args": {"id": "nope"}})"));
  ::close(fd);
  const int pid = s.sb.daemon_pid();
  s.check_intact();
  CHECK(s.sb.daemon_pid() == pid);
  CHECK(!process_exited(pid));
}

// ---- usage ------------------------------------------------------------------------------

TEST_CASE("unknown subcommands, missing arguments and unknown options exit 2", "[bad-input]") {
  Stocked s;
  check_refused(s.sb.sjs({"bogus"}), 2);
  check_refused(s.sb.sjs({"job", "frobnicate"}), 2);
  check_refused(s.sb.sjs({}), 2);
  check_refused(s.sb.sjs({"job"}), 2);
  check_refused(s.sb.sjs({"job", "status"}), 2, "ID");
  check_refused(s.sb.sjs({"job", "submit"}), 2, "BINARY");
  check_refused(s.sb.sjs({"binary", "upload", "onlyname"}), 2, "FILE");
  check_refused(s.sb.sjs({"binary", "list", "--no-such-option"}), 2);
  check_refused(s.sb.sjs({"binary", "upload", "x", "y", "--type", "zip"}), 2);
  s.check_intact();
}

TEST_CASE("job list --state BOGUS and --limit 0 are refused by the CLI with exit 2", "[bad-input]") {
  Stocked s;
  check_refused(s.sb.sjs({"job", "list", "--state", "BOGUS"}), 2, "BOGUS");
  check_refused(s.sb.sjs({"job", "list", "--limit", "0"}), 2, "limit");
  check_refused(s.sb.sjs({"job", "list", "--limit", "-3"}), 2);
  // Valid values still work, the state case-insensitively.
  auto ok = s.sb.sjs_json({"job", "list", "--state", "finished", "--limit", "1"});
  REQUIRE(ok.exit_code == 0);
  REQUIRE(ok.json()["jobs"].size() == 1);
  CHECK(ok.json()["jobs"][0]["id"] == s.job_id);
  s.check_intact();
}

// ---- context settings against the runtime table (sjs/runtimes.hpp) ------------------------

namespace {

// A daemon that knows no Spark home, whatever the environment of the test says.
void start_without_spark(const Sandbox& sb) {
  auto r = run_process({k_sjs, "daemon", "start"}, {{"SJS_HOME", sb.home()}, {"SPARK_HOME", ""}});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

// Nothing of a refused create is left: no context, and the name is free.
void check_no_context(const Sandbox& sb, const std::string& name) {
  CHECK(sb.sjs({"context", "show", name}).exit_code == 7);
  auto list = sb.sjs_json({"context", "list"});
  REQUIRE(list.exit_code == 0);
  CHECK(list.json()["contexts"].empty());
}

}  // namespace

TEST_CASE("context create with a bad setting value (memory=lots) is an input error, exit 8, naming the setting and "
          "its form, before any worker starts",
          "[bad-input][runtimes]") {
  Sandbox sb;
  start_without_spark(sb);
  auto r = sb.sjs({"context", "create", "c", "--runtime", "jvm", "--set", "memory=lots"});
  check_refused(r, 8, "\"memory\"");
  CHECK(r.err.find("512m") != std::string::npos);  // the expected form
  CHECK(r.err.find("internal") == std::string::npos);
  check_no_context(sb, "c");
  // max-queue must be a whole number, on every runtime.
  check_refused(sb.sjs({"context", "create", "c", "--set", "max-queue=many"}), 8, "\"max-queue\"");
  check_no_context(sb, "c");
  // The same settings with sane values work.
  CHECK(sb.sjs({"context", "create", "c", "--set", "max-queue=3"}).exit_code == 0);
}

TEST_CASE("context create with an unknown setting is exit 8 naming it and what the runtime accepts - spark-jobserver's "
          "keys are accepted",
          "[bad-input][runtimes]") {
  Sandbox sb;
  start_without_spark(sb);
  auto r = sb.sjs({"context", "create", "c", "--set", "colour=blue"});
  check_refused(r, 8, "\"colour\"");
  CHECK(r.err.find("max-queue") != std::string::npos);  // what exec accepts
  CHECK(r.err.find("env.*") != std::string::npos);
  // A jvm setting on an exec context is unknown there.
  check_refused(sb.sjs({"context", "create", "c", "--set", "memory=1g"}), 8, "\"memory\"");
  check_no_context(sb, "c");
  // spark-jobserver clients' keys are accepted (and ignored) by every runtime.
  auto ok = sb.sjs({"context", "create", "c", "--set", "num-cpu-cores=2", "--set", "memory-per-node=512m", "--set",
                    "context-factory=spark.jobserver.context.DefaultSparkContextFactory", "--set",
                    "spark.executor.cores=2", "--set", "passthrough.spark.driver.allowMultipleContexts=true"});
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
}

TEST_CASE("context create --runtime spark without a Spark home is exit 8 - --runtime nosuch lists the runtimes",
          "[bad-input][runtimes]") {
  Sandbox sb;
  start_without_spark(sb);
  check_refused(sb.sjs({"context", "create", "c", "--runtime", "spark"}), 8, "spark.home");
  check_no_context(sb, "c");
  // The CLI checks --runtime against the runtime table: a usage error listing them.
  check_refused(sb.sjs({"context", "create", "c", "--runtime", "nosuch"}), 2, "use exec, jvm, spark, python or pyspark");
  CHECK(sb.sjs({"context", "create", "c", "--runtime", "nosuch"}).err.find("nosuch") != std::string::npos);
  check_no_context(sb, "c");
  auto help = sb.sjs({"context", "create", "--help"});
  CHECK(help.out.find("one of: exec, jvm, spark, python, pyspark") != std::string::npos);
}

// Hostile HTTP clients against the real sjsd: slow headers, smuggling-shaped framing, deep JSON, huge
// keys, over-long request lines, path traversal, a thousand idle connections, and a daemon out of
// file descriptors. Each must get a clear answer (or a closed connection) while sjsd keeps serving.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.hpp"
#include "http_sandbox.hpp"

using namespace sjs::test;
using nlohmann::json;

namespace {

// A raw TCP connection to 127.0.0.1:port, kept open until destroyed.
class Conn {
 public:
  explicit Conn(int port) {
    m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    m_ok = m_fd >= 0 && ::connect(m_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Conn() {
    if (m_fd >= 0) ::close(m_fd);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  bool ok() const { return m_ok; }
  bool send(const std::string& s) const { return ::send(m_fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()); }
  // What arrives until the server closes or `timeout_s` passes.
  std::string read_all(double timeout_s) const {
    timeval tv{static_cast<time_t>(timeout_s), static_cast<suseconds_t>((timeout_s - static_cast<long>(timeout_s)) * 1e6)};
    ::setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out;
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(m_fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

 private:
  int m_fd = -1;
  bool m_ok = false;
};

const char* k_get = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

}  // namespace

TEST_CASE("http hostile: a header that trickles in is closed after http.header-timeout-seconds, "
          "while an idle keep-alive connection may wait for its next request",
          "[http][hostile]") {
  HttpSandbox h("http.header-timeout-seconds = 1\n");
  Conn slow(h.port());
  REQUIRE(slow.ok());
  Conn idle(h.port());
  REQUIRE(idle.ok());
  const auto t0 = std::chrono::steady_clock::now();
  // The header trickles in, a byte every 0.3 s, and never ends: it began, so it has 1 s in all.
  REQUIRE(slow.send("GET /healthz HTTP/1.1\r\nHost: x\r\n"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  REQUIRE(slow.send("X"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  REQUIRE(slow.send("-"));
  const std::string got = slow.read_all(10);
  INFO(got);
  CHECK(got.empty());            // closed: there is no one to answer
  CHECK(seconds_since(t0) < 8);  // and closed at once, not held for the idle timeout (120 s)
  CHECK(eventually([&] { return contains(read_all(h.sb().home() + "/sjsd.log"), "did not arrive within 1 s"); }, 5));

  // The idle connection sent nothing for longer than the header timeout: it is still served.
  REQUIRE(idle.send(k_get));
  CHECK(raw_status(idle.read_all(0.5)) == 200);
  CHECK(h.healthy());
}

TEST_CASE("http hostile: Content-Length with Transfer-Encoding, request lines and headers over the limits, deep "
          "JSON, huge HOCON keys and path traversal get a clear 4xx",
          "[http][hostile]") {
  HttpSandbox h;
  // Request smuggling's shape: both framings at once.
  auto both = raw_exchange(h.port(),
                           "POST /jobs?appName=x&classPath=y HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                           false);
  INFO(both);
  CHECK(raw_status(both) == 400);

  auto long_line = raw_exchange(h.port(), "GET /binaries/" + std::string(100 * 1024, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", false);
  CHECK(raw_status(long_line) == 414);
  auto long_target = raw_exchange(h.port(), "GET /binaries/" + std::string(20 * 1024, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", false);
  CHECK(raw_status(long_target) == 414);
  auto big_header =
      raw_exchange(h.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(100 * 1024, 'a') + "\r\n\r\n", false);
  CHECK(raw_status(big_header) == 431);

  const std::string deep = std::string(10000, '[') + std::string(10000, ']');
  auto rpc = h.post("/sjs/v1/job.submit", "{\"binary\": \"x\", \"config\": {\"a\": " + deep + "}}");
  CHECK(rpc.status == 400);
  CHECK(contains(rpc.body, "levels deep"));
  auto job = h.post("/jobs?appName=x&classPath=y", "{\"a\": " + deep + "}");
  CHECK(job.status == 400);
  CHECK(contains(job.body, "levels deep"));
  auto pipeline = h.post("/pipelines", "{\"library\": \"x\", \"steps\": " + deep + "}");
  CHECK(pipeline.status == 400);
  auto hocon_deep = h.post("/jobs?appName=x&classPath=y", std::string(10000, '{') + std::string(10000, '}'));
  CHECK(hocon_deep.status == 400);

  auto huge_key = h.post("/jobs?appName=x&classPath=y", std::string(100 * 1024, 'k') + " = 1\n");
  CHECK(huge_key.status == 400);
  CHECK(contains(huge_key.body, "keys are at most 4096 bytes"));

  for (const char* target : {"/binaries/..%2F..%2Fetc%2Fpasswd", "/binaries/%2E%2E", "/data/..%2Fsjsd.pid",
                             "/data/%2E%2E%2F%2E%2E%2Fx", "/contexts/..%2Fx"}) {
    auto r = h.post(target, "x");
    INFO(target << ": " << r.body);
    CHECK(r.status == 400);
  }
  CHECK(h.get("/binaries").js() == json::object());
  CHECK(h.get("/data").js() == json::array());
  CHECK(h.healthy());
}

TEST_CASE("http hostile: a thousand idle keep-alive connections do not starve active clients", "[http][hostile]") {
  rlimit r{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &r) == 0);
  if (r.rlim_cur < 1200 && r.rlim_max >= 1200) {
    r.rlim_cur = 1200;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &r) == 0);
  }
  HttpSandbox h;
  h.sb().upload_script("hello", "echo '{\"hi\": 1}'");
  std::vector<std::unique_ptr<Conn>> idle;
  for (int i = 0; i < 1000; ++i) {
    idle.push_back(std::make_unique<Conn>(h.port()));
    REQUIRE(idle.back()->ok());
    if (i % 2 == 0) {  // half served once and kept alive, half never said anything
      REQUIRE(idle.back()->send(k_get));
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(h.healthy());
  auto sync = h.post("/jobs?appName=hello&classPath=run&sync=true", "");
  CHECK(sync.status == 200);
  CHECK(seconds_since(t0) < 20);
  // The idle ones still work.
  REQUIRE(idle[1]->send(k_get));
  CHECK(raw_status(idle[1]->read_all(1)) == 200);
}

TEST_CASE("http hostile: sjsd out of file descriptors refuses new connections with a log line, not a crash, and "
          "serves again once they close",
          "[http][hostile]") {
  // sjsd under a hard limit of 96 open files (it raises its soft limit to the hard one).
  Sandbox sb(std::string("http.listen = \"127.0.0.1:0\"\n") + k_fast_grace_conf);
  auto r = run_process({"/bin/sh", "-c", "ulimit -Sn 96 && ulimit -Hn 96 && exec \"$0\" daemon start", k_sjs},
                       {{"SJS_HOME", sb.home()}, {"SPARK_HOME", ""}});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string url = trim(read_all(sb.home() + "/sjsd.url"));
  const int port = std::stoi(url.substr(url.rfind(':') + 1));
  const int pid = sb.daemon_pid();
  {
    std::vector<std::unique_ptr<Conn>> flood;
    for (int i = 0; i < 150; ++i) flood.push_back(std::make_unique<Conn>(port));  // the kernel queues what sjsd cannot take
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    CHECK_FALSE(process_exited(pid));
    CHECK(eventually([&] { return contains(read_all(sb.home() + "/sjsd.log"), "cannot accept connections"); }, 10));
  }
  // They closed: sjsd serves again, over HTTP and the socket.
  CHECK(eventually([&] { return raw_status(raw_exchange(port, k_get, false, 2)) == 200; }, 20));
  CHECK(sb.sjs({"daemon", "status"}).exit_code == 0);
  CHECK(eventually([&] { return contains(read_all(sb.home() + "/sjsd.log"), "accepting connections again"); }, 10));
}

TEST_CASE("http hostile: bytes that are not UTF-8 get 400 in the target and 401 in an auth scheme, and sjsd goes on "
          "(found by fuzzing: they reached a JSON writer, which threw and took sjsd down)",
          "[http][hostile]") {
  HttpSandbox h;
  const Sandbox& sb = h.sb();
  auto added = sb.sjs({"user", "add", "alice", "--password-stdin", "--permissions", "*"}, "pw-of-alice\n");
  INFO(added.err);
  REQUIRE(added.exit_code == 0);
  const int pid = sb.daemon_pid();
  {
    Conn c(h.port());
    REQUIRE(c.ok());
    REQUIRE(c.send("GET /jobs HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Be\xfbrer 0f0f\r\n\r\n"));
    const std::string answer = c.read_all(10);
    INFO(answer);
    CHECK(answer.rfind("HTTP/1.1 401", 0) == 0);
  }
  for (const std::string target : {"/jobs?appName=x&classPath=%FB", "/contexts/c%FB", "/jobs?app%FEName=x"}) {
    Conn c(h.port());
    REQUIRE(c.ok());
    REQUIRE(c.send("POST " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"));
    const std::string answer = c.read_all(10);
    INFO(target << ": " << answer);
    CHECK(answer.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(contains(answer, "is not UTF-8 once percent-decoded"));
  }
  CHECK(sb.daemon_pid() == pid);
  CHECK(!process_exited(pid));
  CHECK(sb.sjs({"daemon", "status"}).exit_code == 0);
  CHECK(sb.sjs({"job", "list"}).exit_code == 0);
}

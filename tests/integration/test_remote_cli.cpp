// The remote CLI: the real sjs with --url (or SJS_URL) against the real sjsd's HTTP
// API, with SJS_HOME pointing at an empty dir and autostart off so that no socket can
// be used. Outputs and exit codes are compared with the same commands over the socket.
// Also: authentication (--user with SJS_PASSWORD or --password-stdin, --token,
// SJS_TOKEN), permissions, TLS (--cacert, SJS_CACERT, --insecure, certificate checks).
#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sstream>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "harness.hpp"

extern char** environ;

using namespace sjs::test;
using nlohmann::json;

namespace {

const std::string k_http_conf = std::string(k_fast_grace_conf) + "http.listen = \"127.0.0.1:0\"\n";

// Starts the sandbox's sjsd (HTTP on, SPARK_HOME cleared so that jars run on the jvm
// runtime) and returns the URL it wrote to sjsd.url.
std::string start_http_daemon(const Sandbox& sb) {
  auto r = run_process({k_sjs, "daemon", "start"}, {{"SJS_HOME", sb.home()}, {"SPARK_HOME", ""}});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::string url = trim(read_all(sb.home() + "/sjsd.url"));
  INFO("sjsd.log: " << read_all(sb.home() + "/sjsd.log"));
  REQUIRE(url.rfind("http", 0) == 0);
  return url;
}

// The real sjs, remote: --url URL, SJS_HOME an empty dir of its own, no autostart.
class Remote {
 public:
  Remote(const Sandbox& sb, std::string url) : m_url(std::move(url)), m_home(sb.dir() + "/remote-home") {
    std::filesystem::create_directories(m_home);
  }
  RunResult sjs(std::vector<std::string> args, const std::map<std::string, std::string>& env = {},
                const std::string& stdin_text = "", double timeout_s = 60) const {
    args.insert(args.begin(), {k_sjs, "--url", m_url});
    std::map<std::string, std::string> e = {{"SJS_HOME", m_home}, {"SJS_NO_AUTOSTART", "1"}};
    for (const auto& [k, v] : env) e[k] = v;
    return run_process(args, e, stdin_text, timeout_s);
  }
  RunResult sjs_json(std::vector<std::string> args) const {
    args.insert(args.begin(), "--json");
    return sjs(args);
  }
  const std::string& url() const { return m_url; }
  const std::string& home() const { return m_home; }
  // Nothing was created in the remote's SJS_HOME: no socket, no pidfile, no started sjsd.
  bool home_untouched() const { return std::filesystem::is_empty(m_home); }

 private:
  std::string m_url;
  std::string m_home;
};

// The JSON with what differs between two equal jobs (ids, also inside messages, sequence
// numbers, ad-hoc context names, times, pids) blanked, for comparing two runs field by field.
json blank_ids_and_times(json j, const std::string& id) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& k = it.key();
      if (k == "id" || k == "seq" || k == "pid" || (k.size() > 3 && k.compare(k.size() - 3, 3, "_ms") == 0)) {
        it.value() = "*";
      } else if (k == "context" && j.value("adhoc", false)) {
        it.value() = "*";
      } else {
        it.value() = blank_ids_and_times(it.value(), id);
      }
    }
  } else if (j.is_array()) {
    for (auto& v : j) v = blank_ids_and_times(v, id);
  } else if (j.is_string() && !id.empty()) {
    std::string v = j.get<std::string>();
    for (auto pos = v.find(id); pos != std::string::npos; pos = v.find(id, pos + 1)) v.replace(pos, id.size(), "*");
    j = v;
  }
  return j;
}
json without_ids_and_times(const json& j) {
  std::string id;
  if (j.is_object() && j.contains("job") && j["job"].is_object()) id = j["job"].value("id", "");
  else if (j.is_object()) id = j.value("id", "");
  return blank_ids_and_times(j, id);
}

// A process whose stdout is read while it runs (for `job log --follow`).
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
    int out[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    try {
      m_pid = spawn_process(argv, env, &fa, /*clean_env=*/true);
    } catch (...) {
      m_pid = -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);
    m_fd = out[0];
    REQUIRE(m_pid > 0);
  }
  ~Child() {
    if (m_fd >= 0) ::close(m_fd);
    if (m_pid > 0) {
      ::kill(m_pid, SIGKILL);
      ::waitpid(m_pid, nullptr, 0);
    }
  }
  // Reads until stdout holds `needle` (true) or the limit passes or stdout ends (false).
  bool read_until(const std::string& needle, double timeout_s) {
    const auto t0 = std::chrono::steady_clock::now();
    while (!contains(m_out, needle) && m_fd >= 0 && seconds_since(t0) < timeout_s) read_some(100);
    return contains(m_out, needle);
  }
  // Reads stdout to its end and returns the exit status (-1 if it runs past the limit).
  int finish(double timeout_s) {
    const auto t0 = std::chrono::steady_clock::now();
    while (m_fd >= 0 && seconds_since(t0) < timeout_s) read_some(100);
    if (m_fd >= 0) return -1;
    int status = 0;
    ::waitpid(m_pid, &status, 0);
    m_pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  const std::string& out() const { return m_out; }

 private:
  void read_some(int ms) {
    pollfd p{m_fd, POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0) return;
    char buf[4096];
    ssize_t n = ::read(m_fd, buf, sizeof buf);
    if (n > 0) {
      m_out.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      ::close(m_fd);
      m_fd = -1;
    }
  }

  pid_t m_pid = -1;
  int m_fd = -1;
  std::string m_out;
};

// Runs argv on a new pseudo-terminal (stdin, stdout and stderr); once the output holds
// `prompt`, types `answer`. Returns the exit status (-1 past the limit) and all output.
std::pair<int, std::string> run_on_tty(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                                       const std::string& prompt, const std::string& answer, double timeout_s = 30) {
  int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  REQUIRE(master >= 0);
  REQUIRE(::grantpt(master) == 0);
  REQUIRE(::unlockpt(master) == 0);
  const std::string slave = ::ptsname(master);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, slave.c_str(), O_RDWR | O_NOCTTY, 0);
  posix_spawn_file_actions_adddup2(&fa, 0, 1);
  posix_spawn_file_actions_adddup2(&fa, 0, 2);
  pid_t pid = -1;
  try {
    pid = spawn_process(argv, env, &fa, /*clean_env=*/true);
  } catch (...) {
    pid = -1;
  }
  posix_spawn_file_actions_destroy(&fa);
  REQUIRE(pid > 0);
  std::string out;
  bool answered = false;
  const auto t0 = std::chrono::steady_clock::now();
  int status = 0;
  bool exited = false;
  bool hung_up = false;  // the terminal's other end is closed (read fails with EIO)
  while (seconds_since(t0) < timeout_s) {
    pollfd p{master, POLLIN, 0};
    if (!hung_up && ::poll(&p, 1, 50) > 0) {
      char buf[4096];
      ssize_t n = ::read(master, buf, sizeof buf);
      if (n > 0) out.append(buf, static_cast<std::size_t>(n));
      else if (n == 0 || errno != EINTR) hung_up = true;
    }
    if (!answered && contains(out, prompt)) {
      answered = true;
      REQUIRE(::write(master, answer.data(), answer.size()) == static_cast<ssize_t>(answer.size()));
    }
    if (!exited && ::waitpid(pid, &status, WNOHANG) == pid) exited = true;
    if (exited && hung_up) break;
    if (hung_up) ::usleep(20 * 1000);
  }
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  ::close(master);
  return {exited && WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string sha256_of(const std::string& path) {
  auto r = run_process({"/usr/bin/sha256sum", path});
  REQUIRE(r.exit_code == 0);
  return r.out.substr(0, 64);
}

// A shell script of about `bytes` bytes (a long comment) that prints a JSON result.
std::string big_script(const Sandbox& sb, const std::string& name, std::size_t bytes) {
  std::string body = "#!/bin/sh\necho '{\"big\": true}'\nexit 0\n";
  std::string line = "# " + std::string(97, 'x') + "\n";
  while (body.size() < bytes) body += line;
  return sb.write_file(name, body, 0755);
}

// Self-signed certificate and key for CN=localhost with these subjectAltNames.
void make_cert(const Sandbox& sb, const std::string& stem, const std::string& san) {
  auto r = run_process({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=" + san, "-days", "1", "-keyout", sb.dir() + "/" + stem + "-key.pem",
                        "-out", sb.dir() + "/" + stem + "-cert.pem"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

std::string tls_conf(const Sandbox& sb, const std::string& stem) {
  return k_http_conf + "http.tls-cert = \"" + sb.dir() + "/" + stem + "-cert.pem\"\nhttp.tls-key = \"" + sb.dir() +
         "/" + stem + "-key.pem\"\n";
}

std::string port_of(const std::string& url) { return url.substr(url.rfind(':') + 1); }

}  // namespace

// ---- jobs and binaries over HTTP ---------------------------------------------------------

TEST_CASE("remote CLI: --url uploads an exec script and runs it --sync with the socket's output and exit codes, "
          "without any socket or autostart",
          "[remote]") {
  Sandbox sb(k_http_conf);
  Remote remote(sb, start_http_daemon(sb));
  const std::string ok = sb.write_file("ok.sh", "#!/bin/sh\necho '{\"answer\": 42, \"args\": \"'\"$*\"'\"}'\n", 0755);
  const std::string fail = sb.write_file("fail.sh", "#!/bin/sh\necho 'about to fail' >&2\nexit 3\n", 0755);

  auto up = remote.sjs_json({"binary", "upload", "ok", ok});
  INFO(up.err);
  REQUIRE(up.exit_code == 0);
  CHECK(up.json()["name"] == "ok");
  CHECK(up.json()["type"] == "exec");
  CHECK(up.json()["size"] == std::filesystem::file_size(ok));
  CHECK(up.json()["sha256"] == sha256_of(ok));
  REQUIRE(remote.sjs({"binary", "upload", "fail", fail}).exit_code == 0);
  // The socket sees what HTTP uploaded.
  auto shown = sb.sjs_json({"binary", "show", "ok"});
  REQUIRE(shown.exit_code == 0);
  CHECK(shown.json()["versions"][0]["sha256"] == sha256_of(ok));

  auto http_sync = remote.sjs({"job", "submit", "ok", "--sync", "--", "x", "y"});
  auto sock_sync = sb.sjs({"job", "submit", "ok", "--sync", "--", "x", "y"});
  INFO(http_sync.err);
  CHECK(http_sync.exit_code == 0);
  CHECK(json::parse(http_sync.out) == json{{"answer", 42}, {"args", "x y"}});
  CHECK(http_sync.out == sock_sync.out);

  auto http_fail = remote.sjs({"job", "submit", "fail", "--sync"});
  auto sock_fail = sb.sjs({"job", "submit", "fail", "--sync"});
  CHECK(http_fail.exit_code == 1);
  CHECK(http_fail.exit_code == sock_fail.exit_code);
  CHECK(http_fail.out == sock_fail.out);
  CHECK(!http_fail.err.empty());

  // SJS_URL works as --url does.
  auto via_env = run_process({k_sjs, "job", "submit", "ok", "--sync"},
                             {{"SJS_URL", remote.url()}, {"SJS_HOME", remote.home()}, {"SJS_NO_AUTOSTART", "1"}});
  INFO(via_env.err);
  CHECK(via_env.exit_code == 0);
  CHECK(json::parse(via_env.out)["answer"] == 42);

  CHECK(remote.home_untouched());
}

TEST_CASE("remote CLI: a jar uploaded over --url runs WordCount --sync and prints the counts", "[remote][jvm]") {
  Sandbox sb(k_http_conf);
  Remote remote(sb, start_http_daemon(sb));
  const std::string jar = build_dir() + "/sjs-examples.jar";
  REQUIRE(std::filesystem::exists(jar));
  auto up = remote.sjs_json({"jar", "upload", "ex", jar});
  INFO(up.err);
  REQUIRE(up.exit_code == 0);
  CHECK(up.json()["type"] == "jar");
  CHECK(up.json()["sha256"] == sha256_of(jar));
  auto r = remote.sjs({"job", "submit", "ex", "sjs.examples.WordCount", "--sync", "--conf", "input.string=a b a"}, {},
                      "", 120);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(json::parse(r.out) == json{{"a", 2}, {"b", 1}});
  CHECK(remote.home_untouched());
}

TEST_CASE("remote CLI: async submit, status, result, kill, wait, log, config and list answer over --url exactly as "
          "over the socket",
          "[remote]") {
  Sandbox sb(k_http_conf);
  Remote remote(sb, start_http_daemon(sb));
  const std::string gate = sb.dir() + "/gate";
  sb.upload_script("gate", wait_for_file(gate) + "\necho gated");
  sb.upload_script("work", "echo \"log of $SJS_JOB_ID\"\necho 'to stderr' >&2\n"
                           "echo '{\"done\": \"'\"$1\"'\"}' >\"$SJS_RESULT\"");
  REQUIRE(sb.sjs({"context", "create", "c1", "--max-jobs", "1"}).exit_code == 0);
  const std::string g = sb.submit({"gate", "-c", "c1"});
  REQUIRE(sb.wait_for_state(g, "RUNNING"));

  // Submit: the same job twice, over the socket and over HTTP; both wait behind the gate.
  const std::vector<std::string> submit = {"job", "submit", "work", "-c", "c1", "--conf", "db.password=hunter2",
                                           "--conf", "n=1", "--priority", "2", "--", "A"};
  auto sock_a = sb.sjs_json(submit);
  auto http_b = remote.sjs_json(submit);
  INFO(http_b.err);
  REQUIRE(sock_a.exit_code == 0);
  REQUIRE(http_b.exit_code == 0);
  CHECK(http_b.json()["job"]["state"] == "QUEUED");
  CHECK(without_ids_and_times(http_b.json()) == without_ids_and_times(sock_a.json()));
  const std::string a = sock_a.json()["job"]["id"];
  const std::string b = http_b.json()["job"]["id"];
  CHECK(a != b);

  // Plain submit prints the id alone on stdout.
  auto plain = remote.sjs({"job", "submit", "work", "-c", "c1", "--", "B"});
  REQUIRE(plain.exit_code == 0);
  const std::string b2 = trim(plain.out);
  CHECK(sb.job_json(b2)["args"] == json::array({"B"}));

  // Status and result of a queued job: same JSON, same exit codes (result: 6, not ended).
  for (const char* cmd : {"status", "result"}) {
    auto s = sb.sjs_json({"job", cmd, a});
    auto h = remote.sjs_json({"job", cmd, b});
    INFO(cmd << ": " << h.err);
    CHECK(h.exit_code == s.exit_code);
    CHECK(without_ids_and_times(h.json()) == without_ids_and_times(s.json()));
  }
  CHECK(remote.sjs({"job", "result", b}).exit_code == 6);

  // Kill: one over each path.
  auto kill_a = sb.sjs_json({"job", "kill", a});
  auto kill_b = remote.sjs_json({"job", "kill", b});
  REQUIRE(kill_b.exit_code == 0);
  CHECK(kill_b.exit_code == kill_a.exit_code);
  CHECK(kill_b.json()["job"]["state"] == "KILLED");
  CHECK(without_ids_and_times(kill_b.json()) == without_ids_and_times(kill_a.json()));
  auto killed_result = remote.sjs({"job", "result", b});
  CHECK(killed_result.exit_code == 4);
  CHECK(killed_result.exit_code == sb.sjs({"job", "result", a}).exit_code);
  // Killing it again: not found (7) over both paths.
  CHECK(remote.sjs({"job", "kill", b}).exit_code == 7);
  CHECK(sb.sjs({"job", "kill", a}).exit_code == 7);

  // Wait: two more jobs, then the gate opens; each waits on its own path.
  const std::string c = sb.submit({"work", "-c", "c1", "--", "C"});
  auto http_d = remote.sjs({"job", "submit", "work", "-c", "c1", "--", "C"});
  REQUIRE(http_d.exit_code == 0);
  const std::string d = trim(http_d.out);
  touch(gate);
  auto wait_c = sb.sjs_json({"job", "wait", c});
  auto wait_d = remote.sjs_json({"job", "wait", d});
  INFO(wait_d.err);
  CHECK(wait_d.exit_code == 0);
  CHECK(wait_d.exit_code == wait_c.exit_code);
  CHECK(without_ids_and_times(wait_d.json()) == without_ids_and_times(wait_c.json()));
  CHECK(wait_d.json()["result"] == json{{"done", "C"}});
  REQUIRE(sb.wait_for_state(b2, "FINISHED"));
  REQUIRE(sb.wait_for_state(g, "FINISHED"));

  // Everything has ended: the same commands over both paths print the same, byte for byte.
  const std::vector<std::vector<std::string>> same = {
      {"job", "status", d},         {"--json", "job", "status", d}, {"job", "result", d},
      {"--json", "job", "result", d}, {"job", "config", d},         {"--json", "job", "config", a},
      {"job", "log", d},            {"--json", "job", "log", d},    {"job", "log", "--from", "4", d},
      {"job", "wait", d},           {"job", "list"},                {"--json", "job", "list", "--state", "killed"},
      {"--json", "job", "list", "-n", "2"}, {"--json", "binary", "list"}, {"binary", "show", "work"},
      {"--json", "context", "show", "c1"}, {"context", "list"}};
  for (const auto& args : same) {
    auto s = sb.sjs(args);
    auto h = remote.sjs(args);
    std::string cmd;
    for (const auto& w : args) cmd += w + " ";
    INFO("sjs " << cmd << "\nsocket: " << s.out << s.err << "\nhttp: " << h.out << h.err);
    CHECK(h.exit_code == s.exit_code);
    CHECK(h.out == s.out);
    CHECK(!h.out.empty());
  }
  // The secret stays hidden over HTTP too.
  CHECK(!contains(remote.sjs({"job", "config", a}).out, "hunter2"));
  CHECK(contains(remote.sjs({"job", "log", d}).out, "log of " + d));
  CHECK(remote.home_untouched());
}

TEST_CASE("remote CLI: job log --follow streams lines as the job writes them and exits with the job's outcome",
          "[remote]") {
  Sandbox sb(k_http_conf);
  Remote remote(sb, start_http_daemon(sb));
  const std::string gate = sb.dir() + "/gate";
  sb.upload_script("talk", "echo first\n" + wait_for_file(gate) + "\necho second\nexit 3");
  const std::string id = sb.submit({"talk"});

  Child follow({k_sjs, "--url", remote.url(), "job", "log", "--follow", id},
               {{"SJS_HOME", remote.home()}, {"SJS_NO_AUTOSTART", "1"}});
  // The first line arrives while the job still runs (it waits for the gate).
  REQUIRE(follow.read_until("first\n", 30));
  CHECK(!contains(follow.out(), "second"));
  CHECK(sb.job_json(id)["state"] == "RUNNING");
  touch(gate);
  const int rc = follow.finish(30);
  CHECK(rc == 1);  // the job ended in ERROR
  CHECK(follow.out() == "first\nsecond\n");

  // Same output and exit code as over the socket.
  auto sock = sb.sjs({"job", "log", "--follow", id});
  CHECK(sock.exit_code == rc);
  CHECK(sock.out == follow.out());
  auto http_json = remote.sjs({"--json", "job", "log", "--follow", id});
  CHECK(http_json.exit_code == 1);
  CHECK(http_json.out == sb.sjs({"--json", "job", "log", "--follow", id}).out);
}

TEST_CASE("remote CLI: a large binary is streamed to sjsd intact (size and sha256) and runs", "[remote]") {
  Sandbox sb(k_http_conf);
  Remote remote(sb, start_http_daemon(sb));
  const std::string big = big_script(sb, "big.sh", 24u << 20);
  auto up = remote.sjs_json({"binary", "upload", "big", big});
  INFO(up.err);
  REQUIRE(up.exit_code == 0);
  CHECK(up.json()["size"] == std::filesystem::file_size(big));
  CHECK(up.json()["sha256"] == sha256_of(big));
  auto r = remote.sjs({"job", "submit", "big", "--sync"});
  CHECK(r.exit_code == 0);
  CHECK(json::parse(r.out) == json{{"big", true}});
}

// ---- errors ------------------------------------------------------------------------------

TEST_CASE("remote CLI: errors keep their exit codes and messages over HTTP: not found 7, bad input 8, usage 2",
          "[remote]") {
  Sandbox sb(k_http_conf);
  Remote remote(sb, start_http_daemon(sb));
  sb.upload_script("ok", "echo 1");
  const std::string script = sb.write_file("x.sh", "#!/bin/sh\necho 1\n", 0755);
  const std::vector<std::vector<std::string>> cases = {
      {"job", "status", "no-such-job"},                 // 7
      {"job", "submit", "missing", "--sync"},           // 7
      {"context", "show", "nope"},                      // 7
      {"binary", "delete", "nope"},                     // 7
      {"binary", "upload", "_bad", script},             // 8: a name must start with a letter or digit
      {"binary", "upload", "a..b/c", script},           // 8
      {"context", "create", "9lives"},                  // 8: a context name starts with a letter
      {"job", "submit", "ok", "--conf", "a=[1,"},       // 8: bad HOCON (client side, as over the socket)
      {"binary", "upload", "ok", sb.dir() + "/nofile"}, // 8: no such file
  };
  const std::vector<int> expected = {7, 7, 7, 7, 8, 8, 8, 8, 8};
  for (std::size_t i = 0; i < cases.size(); ++i) {
    auto s = sb.sjs(cases[i]);
    auto h = remote.sjs(cases[i]);
    std::string cmd;
    for (const auto& w : cases[i]) cmd += w + " ";
    INFO("sjs " << cmd << "\nsocket: " << s.err << "\nhttp: " << h.err);
    CHECK(h.exit_code == expected[i]);
    CHECK(h.exit_code == s.exit_code);
    CHECK(!h.err.empty());
    if (i < 4) CHECK(h.err == s.err);  // the daemon's own message
  }
  // --json: the error object on stdout, as over the socket.
  auto hj = remote.sjs_json({"job", "status", "no-such-job"});
  auto sj = sb.sjs_json({"job", "status", "no-such-job"});
  CHECK(hj.exit_code == 7);
  CHECK(hj.json() == sj.json());
  CHECK(hj.json()["error"]["code"] == "not_found");

  // A remote sjsd is managed on its host.
  for (const char* cmd : {"start", "restart"}) {
    auto r = remote.sjs({"daemon", cmd});
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, "manage a remote sjsd on its host"));
  }
  // --user and --token are for --url only.
  auto local_user = sb.sjs({"--user", "u", "job", "list"});
  CHECK(local_user.exit_code == 2);
  CHECK(contains(local_user.err, "--url"));
  CHECK(remote.home_untouched());
}

TEST_CASE("remote CLI: an unreachable or malformed URL fails clearly: exit 10 naming the URL, exit 2 for a bad URL",
          "[remote]") {
  Sandbox sb;
  const std::string url = "http://127.0.0.1:" + std::to_string(free_tcp_port());
  Remote remote(sb, url);
  auto r = remote.sjs({"job", "list"});
  INFO(r.err);
  CHECK(r.exit_code == 10);
  CHECK(contains(r.err, "cannot reach sjsd at " + url));
  auto j = remote.sjs_json({"job", "list"});
  CHECK(j.exit_code == 10);
  CHECK(j.json()["error"]["code"] == "unavailable");
  auto st = remote.sjs({"daemon", "status"});
  CHECK(st.exit_code == 10);
  CHECK(contains(st.out, "not reachable at " + url));
  auto unresolvable = Remote(sb, "http://no-such-host.invalid:8090").sjs({"job", "list"});
  CHECK(unresolvable.exit_code == 10);
  CHECK(contains(unresolvable.err, "no-such-host.invalid"));
  for (const char* bad : {"ftp://127.0.0.1:1", "http://:8090", "http://127.0.0.1:99999", "127.0.0.1:8090"}) {
    auto b = Remote(sb, bad).sjs({"job", "list"});
    INFO(bad << ": " << b.err);
    CHECK(b.exit_code == 2);
    CHECK(contains(b.err, "bad --url"));
  }
  // No daemon was started anywhere.
  CHECK(remote.home_untouched());
  CHECK(!std::filesystem::exists(sb.home() + "/sjsd.pid"));
}

TEST_CASE("remote CLI: daemon status answers through the API and daemon stop waits until sjsd has exited",
          "[remote]") {
  Sandbox sb(k_http_conf);
  Remote remote(sb, start_http_daemon(sb));
  auto s = sb.sjs_json({"daemon", "status"});
  auto h = remote.sjs_json({"daemon", "status"});
  INFO(h.err);
  REQUIRE(h.exit_code == 0);
  CHECK(h.json()["running"] == true);
  CHECK(h.json()["http_url"] == remote.url());
  CHECK(without_ids_and_times(h.json()) == without_ids_and_times(s.json()));
  CHECK(h.json()["pid"] == s.json()["pid"]);
  auto human = remote.sjs({"daemon", "status"});
  CHECK(contains(human.out, "running (pid " + std::to_string(sb.daemon_pid())));

  // A job that ignores SIGTERM holds the stop for the grace period (1 s) plus the kill.
  sb.upload_script("stubborn", "trap '' TERM\nsleep 30");
  const std::string id = sb.submit({"stubborn"});
  REQUIRE(sb.wait_for_state(id, "RUNNING"));
  const int pid = sb.daemon_pid();
  const auto t0 = std::chrono::steady_clock::now();
  auto stop = remote.sjs({"daemon", "stop"});
  INFO(stop.err);
  CHECK(stop.exit_code == 0);
  CHECK(contains(stop.err, "sjsd stopped"));
  // It waited for the shutdown (the grace period), not just for the answer to daemon.stop;
  // sjsd closes its connections as it exits.
  CHECK(seconds_since(t0) >= 0.9);
  CHECK(Sandbox::wait_gone(pid, 5));
  auto after = remote.sjs({"daemon", "status"});
  CHECK(after.exit_code == 10);
  CHECK(remote.home_untouched());
}

// ---- authentication ------------------------------------------------------------------------

TEST_CASE("remote CLI with users: --user with SJS_PASSWORD or --password-stdin and --token or SJS_TOKEN log in, "
          "and a wrong password, a bad token, no credentials or a missing permission exit 12",
          "[remote][auth]") {
  Sandbox sb(k_http_conf);
  auto add = sb.sjs({"user", "add", "alice", "--password-stdin", "--permissions", "*"}, "s3cret pass\n");
  INFO(add.err);
  REQUIRE(add.exit_code == 0);
  REQUIRE(sb.sjs({"user", "add", "reader", "--password-stdin", "--permissions", "jobs:read,binaries:read"},
                 "readonly\n")
              .exit_code == 0);
  auto tok = sb.sjs({"user", "token", "alice"});
  INFO(tok.err);
  REQUIRE(tok.exit_code == 0);
  const std::string token = trim(tok.out);
  REQUIRE(!token.empty());
  Remote remote(sb, start_http_daemon(sb));
  const std::string script = sb.write_file("ok.sh", "#!/bin/sh\necho '\"hi\"'\n", 0755);

  // No credentials: 401 -> exit 12, with a hint.
  auto none = remote.sjs({"job", "list"});
  CHECK(none.exit_code == 12);
  CHECK(contains(none.err, "--user"));
  auto none_json = remote.sjs_json({"job", "list"});
  CHECK(none_json.json()["error"]["code"] == "unauthorized");

  // --user with SJS_PASSWORD.
  auto up = remote.sjs({"--user", "alice", "binary", "upload", "ok", script}, {{"SJS_PASSWORD", "s3cret pass"}});
  INFO(up.err);
  CHECK(up.exit_code == 0);
  auto run = remote.sjs({"--user", "alice", "job", "submit", "ok", "--sync"}, {{"SJS_PASSWORD", "s3cret pass"}});
  CHECK(run.exit_code == 0);
  CHECK(run.out == "hi\n");
  // --user with --password-stdin.
  auto piped = remote.sjs({"--user", "alice", "--password-stdin", "binary", "list"}, {}, "s3cret pass\n");
  INFO(piped.err);
  CHECK(piped.exit_code == 0);
  CHECK(contains(piped.out, "ok"));
  // --token, and SJS_TOKEN.
  auto with_token = remote.sjs({"--token", token, "job", "list"});
  INFO(with_token.err);
  CHECK(with_token.exit_code == 0);
  CHECK(contains(with_token.out, "FINISHED"));
  auto env_token = remote.sjs({"job", "submit", "ok", "--sync"}, {{"SJS_TOKEN", token}});
  CHECK(env_token.exit_code == 0);

  // Wrong password, unknown user, bad token: exit 12.
  auto wrong = remote.sjs({"--user", "alice", "job", "list"}, {{"SJS_PASSWORD", "wrong"}});
  CHECK(wrong.exit_code == 12);
  CHECK(contains(wrong.err, "password"));
  CHECK(remote.sjs({"--user", "mallory", "job", "list"}, {{"SJS_PASSWORD", "s3cret pass"}}).exit_code == 12);
  CHECK(remote.sjs({"--token", token + "x", "job", "list"}).exit_code == 12);
  // On a terminal, the password is asked for, and not echoed.
  auto [tty_rc, tty_out] = run_on_tty({k_sjs, "--url", remote.url(), "--user", "alice", "job", "list"},
                                      {{"SJS_HOME", remote.home()}, {"SJS_NO_AUTOSTART", "1"}},
                                      "Password for alice at " + remote.url() + ": ", "s3cret pass\n");
  INFO(tty_out);
  CHECK(tty_rc == 0);
  CHECK(contains(tty_out, "FINISHED"));
  CHECK(!contains(tty_out, "s3cret"));
  // No password at all and no terminal: a usage error that says how to give one.
  auto no_password = remote.sjs({"--user", "alice", "job", "list"});
  CHECK(no_password.exit_code == 2);
  CHECK(contains(no_password.err, "SJS_PASSWORD"));
  CHECK(remote.sjs({"--user", "alice", "--token", token, "job", "list"}).exit_code == 2);

  // A user without the permission: 403 -> exit 12; what it may do works.
  auto denied = remote.sjs({"--user", "reader", "binary", "upload", "other", script}, {{"SJS_PASSWORD", "readonly"}});
  INFO(denied.err);
  CHECK(denied.exit_code == 12);
  CHECK(contains(denied.err, "binaries:upload"));
  auto denied_json = remote.sjs({"--json", "--user", "reader", "job", "submit", "ok"}, {{"SJS_PASSWORD", "readonly"}});
  CHECK(denied_json.exit_code == 12);
  CHECK(denied_json.json()["error"]["code"] == "forbidden");
  CHECK(remote.sjs({"--user", "reader", "job", "list"}, {{"SJS_PASSWORD", "readonly"}}).exit_code == 0);
  CHECK(remote.home_untouched());
}

// ---- TLS -----------------------------------------------------------------------------------

TEST_CASE("remote CLI over https: --cacert or SJS_CACERT trusts a self-signed certificate, without it the "
          "certificate is refused (exit 10), --insecure works with a warning",
          "[remote][tls]") {
  Sandbox sb;
  make_cert(sb, "tls", "DNS:localhost,IP:127.0.0.1");
  sb.write_file("home/sjsd.conf", tls_conf(sb, "tls"));
  const std::string served = start_http_daemon(sb);
  REQUIRE(served.rfind("https://", 0) == 0);
  const std::string port = port_of(served);
  const std::string cert = sb.dir() + "/tls-cert.pem";
  Remote remote(sb, "https://localhost:" + port);

  // Upload (a body streamed through TLS) and a sync job.
  const std::string big = big_script(sb, "big.sh", 3u << 20);
  auto up = remote.sjs_json({"--cacert", cert, "binary", "upload", "big", big});
  INFO(up.err);
  REQUIRE(up.exit_code == 0);
  CHECK(up.json()["sha256"] == sha256_of(big));
  auto run = remote.sjs({"--cacert", cert, "job", "submit", "big", "--sync"});
  CHECK(run.exit_code == 0);
  CHECK(json::parse(run.out) == json{{"big", true}});
  CHECK(run.err.find("warning") == std::string::npos);
  auto env = remote.sjs({"job", "list"}, {{"SJS_CACERT", cert}});
  CHECK(env.exit_code == 0);
  CHECK(contains(env.out, "FINISHED"));
  // The certificate names 127.0.0.1 too.
  CHECK(Remote(sb, served).sjs({"--cacert", cert, "job", "list"}).exit_code == 0);

  // Not trusted without --cacert.
  auto untrusted = remote.sjs({"job", "list"});
  INFO(untrusted.err);
  CHECK(untrusted.exit_code == 10);
  CHECK(contains(untrusted.err, "certificate"));
  CHECK(contains(untrusted.err, "--cacert"));

  // --insecure: works, and says it is unsafe.
  auto insecure = remote.sjs({"--insecure", "job", "list"});
  INFO(insecure.err);
  CHECK(insecure.exit_code == 0);
  CHECK(contains(insecure.out, "FINISHED"));
  CHECK(contains(insecure.err, "warning"));
  CHECK(contains(insecure.err, "not verified"));

  // Plain http:// to the TLS port fails cleanly.
  auto plain = Remote(sb, "http://127.0.0.1:" + port).sjs({"job", "list"});
  CHECK(plain.exit_code == 10);
  CHECK(remote.home_untouched());
}

TEST_CASE("remote CLI over https: a trusted certificate that does not name the URL's host is refused (exit 10)",
          "[remote][tls]") {
  Sandbox sb;
  make_cert(sb, "named", "DNS:localhost");  // no IP address
  sb.write_file("home/sjsd.conf", tls_conf(sb, "named"));
  const std::string port = port_of(start_http_daemon(sb));
  const std::string cert = sb.dir() + "/named-cert.pem";
  CHECK(Remote(sb, "https://localhost:" + port).sjs({"--cacert", cert, "job", "list"}).exit_code == 0);
  auto by_ip = Remote(sb, "https://127.0.0.1:" + port).sjs({"--cacert", cert, "job", "list"});
  INFO(by_ip.err);
  CHECK(by_ip.exit_code == 10);
  CHECK(contains(by_ip.err, "does not name 127.0.0.1"));
}

// ---- what the transport itself pins ---------------------------------------------------------

namespace {

// Client ends of TCP connections to `port` (/proc/net/tcp and tcp6), in any state: once
// the client has exited, each connection it made stays listed (FIN_WAIT, then TIME_WAIT
// for a minute) unless it was reset.
int client_connections_to(const std::string& port) {
  char hex[8];
  std::snprintf(hex, sizeof hex, "%04X", std::stoi(port));
  int n = 0;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::istringstream in(read_all(table));
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string slot, local, remote;
      f >> slot >> local >> remote;
      if (remote.substr(remote.rfind(':') + 1) == hex) ++n;
    }
  }
  return n;
}

}  // namespace

TEST_CASE("remote CLI: one command's requests share one keep-alive connection", "[remote]") {
  Sandbox sb(k_http_conf);
  const std::string url = start_http_daemon(sb);
  Remote remote(sb, url);
  sb.upload_script("ok", "echo '{\"a\": 1}'");
  const int before = client_connections_to(port_of(url));
  // hello, the submission and its streamed answer: three requests.
  auto r = remote.sjs({"job", "submit", "ok", "--sync"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(json::parse(r.out) == json{{"a", 1}});
  CHECK(client_connections_to(port_of(url)) - before == 1);
}

TEST_CASE("a local command loads neither libssl nor libcrypto: --version and a job over the socket", "[remote]") {
  Sandbox sb;
  sb.upload_script("ok", "echo '{\"a\": 1}'");  // starts sjsd
  const std::map<std::string, std::string> env = {{"SJS_HOME", sb.home()}, {"LD_DEBUG", "libs"}};
  auto version = run_process({k_sjs, "--version"}, env);
  REQUIRE(version.exit_code == 0);
  REQUIRE(contains(version.err, "libc.so"));  // LD_DEBUG=libs reports what is loaded
  CHECK(!contains(version.err, "libssl"));
  CHECK(!contains(version.err, "libcrypto"));
  auto submit = run_process({k_sjs, "job", "submit", "ok", "--sync"}, env);
  REQUIRE(submit.exit_code == 0);
  CHECK(json::parse(submit.out) == json{{"a", 1}});
  CHECK(!contains(submit.err, "libssl"));
  CHECK(!contains(submit.err, "libcrypto"));
}

TEST_CASE("remote CLI over https: libssl is loaded for https:// only, a --cacert that holds no certificate is bad "
          "input (exit 8), one of another CA is not trusted (exit 10)",
          "[remote][tls]") {
  Sandbox sb;
  make_cert(sb, "tls", "DNS:localhost,IP:127.0.0.1");
  make_cert(sb, "other", "DNS:localhost,IP:127.0.0.1");
  sb.write_file("home/sjsd.conf", tls_conf(sb, "tls"));
  const std::string port = port_of(start_http_daemon(sb));
  Remote remote(sb, "https://localhost:" + port);
  const std::string cert = sb.dir() + "/tls-cert.pem";

  auto loaded = remote.sjs({"--cacert", cert, "job", "list"}, {{"LD_DEBUG", "libs"}});
  CHECK(loaded.exit_code == 0);
  CHECK(contains(loaded.err, "libssl.so"));
  auto plain = Remote(sb, "http://127.0.0.1:" + port).sjs({"job", "list"}, {{"LD_DEBUG", "libs"}});
  CHECK(plain.exit_code == 10);
  CHECK(!contains(plain.err, "libssl"));

  const std::string not_pem = sb.write_file("not-a-cert.pem", "hello\n");
  for (const std::string& bad : {not_pem, sb.dir() + "/missing.pem"}) {
    auto r = remote.sjs({"--cacert", bad, "job", "list"});
    INFO(r.err);
    CHECK(r.exit_code == 8);
    CHECK(contains(r.err, "cannot load the CA certificates of --cacert " + bad));
  }
  auto other = remote.sjs({"--cacert", sb.dir() + "/other-cert.pem", "job", "list"});
  INFO(other.err);
  CHECK(other.exit_code == 10);
  CHECK(contains(other.err, "certificate is not trusted"));
  CHECK(contains(other.err, "--cacert"));
}

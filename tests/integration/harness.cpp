#include "harness.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <filesystem>
#include <fstream>
#include <poll.h>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <catch2/catch.hpp>

extern char** environ;

namespace sjs::test {

std::map<std::string, std::string> last_header_block(const std::string& raw) {
  std::map<std::string, std::string> headers;
  auto block = raw.rfind("HTTP/1.1 ");
  std::istringstream lines(block == std::string::npos ? raw : raw.substr(block));
  std::string line;
  std::getline(lines, line);  // the status line
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto start = line.find_first_not_of(' ', colon + 1);
    headers[name] = start == std::string::npos ? "" : line.substr(start);
  }
  return headers;
}

const char* const k_sjs = SJS_BIN;
const char* const k_sjsd = SJSD_BIN;
const char* const k_source = SJS_SOURCE_DIR;

nlohmann::json RunResult::json() const {
  auto j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_discarded()) throw std::runtime_error("stdout is not JSON: " + out + "\nstderr: " + err);
  return j;
}

std::string build_dir() {
  const std::string sjs = k_sjs;
  return sjs.substr(0, sjs.rfind('/'));
}

std::string examples_jar() { return build_dir() + "/sjs-examples.jar"; }

nlohmann::json HttpReply::js() const {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) throw std::runtime_error("HTTP " + std::to_string(status) + " body is not JSON: " + body);
  return j;
}

int spawn_process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                  const void* file_actions, bool clean_env) {
  std::vector<std::string> env_s;
  if (clean_env) {
    env_s.push_back("PATH=/usr/local/bin:/usr/bin:/bin");
  } else {
    for (char** e = environ; *e; ++e) {
      std::string kv = *e;
      auto key = kv.substr(0, kv.find('='));
      if (env.count(key) || key.rfind("SJS_", 0) == 0 || key == "XDG_RUNTIME_DIR") continue;
      env_s.push_back(kv);
    }
  }
  for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
  std::vector<char*> av, ev;
  for (auto& a : const_cast<std::vector<std::string>&>(argv)) av.push_back(a.data());
  av.push_back(nullptr);
  for (auto& e : env_s) ev.push_back(e.data());
  ev.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, av[0], static_cast<const posix_spawn_file_actions_t*>(file_actions), &attr, av.data(),
                         ev.data());
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error(std::string("cannot run ") + argv[0] + ": " + std::strerror(rc));
  return pid;
}

RunResult run_process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                      const std::string& stdin_text, double timeout_s) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC)) throw std::runtime_error("pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  pid_t pid = -1;
  std::string failure;
  try {
    pid = spawn_process(argv, env, &fa);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (!failure.empty()) {
    for (int fd : {in[1], out[0], err[0]}) ::close(fd);
    throw std::runtime_error(failure);
  }
  // stdin is fed from the same loop that drains stdout and stderr: a child that exits without reading
  // it (a usage error, say) gives EPIPE, not a SIGPIPE that kills the test, and a large input cannot
  // deadlock against a child blocked on a full stdout pipe.
  std::size_t in_off = 0;
  bool in_open = !stdin_text.empty();
  if (in_open) ::fcntl(in[1], F_SETFL, ::fcntl(in[1], F_GETFL) | O_NONBLOCK);
  else ::close(in[1]);
  RunResult r;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long>(timeout_s * 1000));
  bool out_open = true, err_open = true, timed_out = false;
  char buf[65536];
  while (out_open || err_open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd fds[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {in[1], POLLOUT, 0}};
    if (!out_open) fds[0].fd = -1;
    if (!err_open) fds[1].fd = -1;
    if (!in_open) fds[2].fd = -1;
    if (::poll(fds, 3, static_cast<int>(std::min<long>(left, 1000))) < 0 && errno != EINTR) break;
    if (in_open && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n = ::write(in[1], stdin_text.data() + in_off, stdin_text.size() - in_off);
      if (n > 0) in_off += static_cast<std::size_t>(n);
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || in_off == stdin_text.size()) {
        ::close(in[1]);
        in_open = false;
      }
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        (i == 0 ? out_open : err_open) = false;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  if (in_open) ::close(in[1]);
  ::close(out[0]);
  ::close(err[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (timed_out) r.exit_code = -1;
  else if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) r.exit_code = 128 + WTERMSIG(status);
  return r;
}

std::string raw_exchange(int port, const std::string& bytes, bool half_close, double timeout_s) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
  }
  timeval tv{static_cast<time_t>(timeout_s), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer (431, 413) and close before reading it all
    off += static_cast<std::size_t>(n);
  }
  if (half_close) ::shutdown(fd, SHUT_WR);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

int free_tcp_port() {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) throw std::runtime_error("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  const bool ok = ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  ::close(s);
  if (!ok) throw std::runtime_error("cannot find a free TCP port");
  return ntohs(a.sin_port);
}

int raw_status(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0) return 0;
  return std::stoi(response.substr(9, 3));
}

Sandbox::Sandbox(const std::string& daemon_conf) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "sjs-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  m_dir = tmpl;
  m_home = m_dir + "/home";
  std::filesystem::create_directories(m_home);
  ::chmod(m_home.c_str(), 0700);
  if (!daemon_conf.empty()) write_file("home/sjsd.conf", daemon_conf);
}

Sandbox::~Sandbox() {
  int pid = daemon_pid();
  if (pid > 0 && ::kill(pid, 0) == 0) {
    ::kill(pid, SIGTERM);
    if (!wait_gone(pid, 15)) {
      ::kill(pid, SIGKILL);
      wait_gone(pid, 5);
    }
  }
  const char* keep_all = std::getenv("SJS_KEEP_TEST_DIRS");
  if (m_keep || (keep_all && *keep_all)) {
    std::fprintf(stderr, "kept test dir %s\n", m_dir.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(m_dir, ec);
}

RunResult Sandbox::sjs(const std::vector<std::string>& args, const std::string& stdin_text, double timeout_s) const {
  std::vector<std::string> argv = {k_sjs};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, {{"SJS_HOME", m_home}}, stdin_text, timeout_s);
}

RunResult Sandbox::sjs_json(std::vector<std::string> args, double timeout_s) const {
  args.insert(args.begin(), "--json");
  return sjs(args, "", timeout_s);
}

void Sandbox::start_daemon() const {
  auto r = sjs({"daemon", "start"});
  if (r.exit_code != 0) throw std::runtime_error("sjs daemon start failed: " + r.err);
}

int Sandbox::daemon_pid() const {
  std::ifstream f(m_home + "/sjsd.pid");
  int pid = 0;
  f >> pid;
  return pid;
}

std::string wait_for_file(const std::string& path) { return "while [ ! -e '" + path + "' ]; do sleep 0.02; done"; }

void touch(const std::string& path) { std::ofstream(path) << ""; }

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string read_all(const std::string& path) {
  std::string data;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return data;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return data;
}

std::vector<std::string> split_on(const std::string& s, char separator) {
  std::vector<std::string> parts;
  std::size_t pos = 0;
  while (pos < s.size()) {
    auto end = s.find(separator, pos);
    if (end == std::string::npos) end = s.size();
    parts.push_back(s.substr(pos, end - pos));
    pos = end + 1;
  }
  return parts;
}

std::vector<std::string> split_nul(const std::string& s) { return split_on(s, '\0'); }
std::vector<std::string> lines_of(const std::string& text) { return split_on(text, '\n'); }
bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

std::vector<int> all_pids() {
  std::vector<int> pids;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) pids.push_back(std::stoi(name));
  }
  return pids;
}

std::vector<int> job_processes(const std::string& job_id) {
  std::vector<int> found;
  const std::string needle = "SJS_JOB_ID=" + job_id;
  for (int pid : all_pids()) {
    for (const auto& e : split_nul(read_all("/proc/" + std::to_string(pid) + "/environ"))) {
      if (e == needle) {
        found.push_back(pid);
        break;
      }
    }
  }
  return found;
}

bool process_exited(int pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  // A zombie has exited, but only once all its threads have: the leader shows Z as soon as it
  // exits itself, while the other threads may still hold its files (sockets, locks) open.
  // Read with read(2): the entry may vanish meanwhile.
  const std::string status = read_all("/proc/" + std::to_string(pid) + "/status");
  if (status.empty()) return true;
  auto field = [&](const char* name) {
    auto pos = status.find(std::string("\n") + name);
    if (pos == std::string::npos) return std::string();
    pos += std::strlen(name) + 1;
    while (pos < status.size() && (status[pos] == ' ' || status[pos] == '\t')) ++pos;
    return status.substr(pos, status.find('\n', pos) - pos);
  };
  const std::string state = field("State:");
  const bool dead = !state.empty() && (state[0] == 'Z' || state[0] == 'X');
  return dead && field("Threads:") == "1";
}

bool Sandbox::wait_gone(int pid, double timeout_s) {
  return eventually([pid] { return process_exited(pid); }, timeout_s);
}

void Sandbox::kill_daemon() const {
  int pid = daemon_pid();
  if (pid <= 0) throw std::runtime_error("no daemon pid");
  ::kill(pid, SIGKILL);
  if (!wait_gone(pid, 10)) throw std::runtime_error("daemon did not die");
}

std::string Sandbox::write_file(const std::string& name, const std::string& content, unsigned mode) const {
  std::string path = m_dir + "/" + name;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << content;
  ::chmod(path.c_str(), mode);
  return path;
}

void Sandbox::upload_script(const std::string& name, const std::string& sh_body) const {
  std::string path = write_file("scripts/" + name + ".sh", "#!/bin/sh\n" + sh_body + "\n", 0755);
  auto r = sjs({"binary", "upload", name, path});
  if (r.exit_code != 0) throw std::runtime_error("upload of " + name + " failed: " + r.err);
}

bool Sandbox::wait_for_state(const std::string& job_id, const std::string& state, double timeout_s) const {
  return eventually(
      [&] {
        auto r = sjs_json({"job", "status", job_id});
        if (r.exit_code != 0) return false;
        auto j = nlohmann::json::parse(r.out, nullptr, false);
        return !j.is_discarded() && j.value("state", "") == state;
      },
      timeout_s);
}

std::string Sandbox::submit(std::vector<std::string> args, bool no_autostart) const {
  args.insert(args.begin(), {"job", "submit"});
  if (no_autostart) args.insert(args.begin(), "--no-autostart");
  auto r = sjs(args);
  INFO("sjs job submit: " << r.err);
  REQUIRE(r.exit_code == 0);
  std::string id = trim(r.out);
  REQUIRE(!id.empty());
  return id;
}

nlohmann::json Sandbox::job_json(const std::string& id) const {
  auto r = sjs_json({"job", "status", id});
  INFO("job status " << id << ": " << r.err);
  REQUIRE(r.exit_code == 0);
  return r.json();
}

nlohmann::json Sandbox::context_json(const std::string& name) const {
  auto r = sjs_json({"context", "show", name});
  INFO("context show " << name << ": " << r.err);
  REQUIRE(r.exit_code == 0);
  return r.json();
}

nlohmann::json Sandbox::submit_sync_json(std::vector<std::string> args, int* exit_code, double timeout_s) const {
  args.insert(args.begin(), {"job", "submit"});
  args.push_back("--sync");
  auto r = sjs_json(args, timeout_s);
  INFO("job submit: " << r.err);
  if (exit_code) *exit_code = r.exit_code;
  return r.json();
}

}  // namespace sjs::test

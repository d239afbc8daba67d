#include "fuzz_daemon.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "blobs.hpp"
#include "config.hpp"
#include "daemon.hpp"
#include "http/http_server.hpp"
#include "http/users.hpp"
#include "runtimes/runtime.hpp"
#include "service.hpp"
#include "sjs/framing.hpp"
#include "store/store.hpp"
#include "unix_server.hpp"

namespace sjs::fuzz {

namespace asio = boost::asio;

namespace {

// A context runtime that never starts a process: a job ends FINISHED at once (on the next turn
// of the io_context, as a real runtime's end would come), a cancel ends it KILLED.
class InstantRuntime : public Runtime {
 public:
  InstantRuntime(asio::io_context& io, JobSink& sink, std::string name)
      : m_io(io), m_sink(sink), m_name(std::move(name)), m_alive(std::make_shared<bool>(true)) {}
  ~InstantRuntime() override { *m_alive = false; }
  std::string name() const override { return m_name; }
  void start(std::function<void(const std::string&)> ready) override { ready(""); }
  void run(JobRun run) override {
    m_sink.job_started(run.job.id, 0);
    end_later(run.job.id, job_state::k_finished);
  }
  void cancel(const std::string& job_id, const std::string&) override { end_later(job_id, job_state::k_killed); }
  void stop(std::function<void()> stopped) override { stopped(); }

 private:
  void end_later(const std::string& id, const std::string& state) {
    asio::post(m_io, [this, alive = m_alive, id, state] {
      if (!*alive || !m_running.insert(id).second) return;  // one end per job
      JobOutcome o;
      o.state = state;
      if (state == job_state::k_finished) {
        o.has_result = true;
        o.result = nlohmann::json{{"job", id}};
      } else {
        o.error = nlohmann::json{{"message", "killed"}};
      }
      m_sink.job_ended(id, std::move(o));
    });
  }
  asio::io_context& m_io;
  JobSink& m_sink;
  std::string m_name;
  std::shared_ptr<bool> m_alive;
  std::set<std::string> m_running;  // ended ones, so a cancel after the end is ignored
};

// In /dev/shm when it has room (1 GiB): commits and uploads sync, and on tmpfs a sync costs nothing, so
// the targets run many times faster (what is fuzzed is the code, not the disk).
std::string make_temp_dir() {
  const char* base = std::getenv("SJS_FUZZ_TMPDIR");
  struct statvfs shm {};
  const bool roomy_shm = ::statvfs("/dev/shm", &shm) == 0 && ::access("/dev/shm", W_OK) == 0 &&
                         static_cast<unsigned long long>(shm.f_bavail) * shm.f_frsize >= (1ull << 30);
  if (!base || !*base) base = roomy_shm ? "/dev/shm" : std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/sjs-fuzz-XXXXXX";
  if (!::mkdtemp(tmpl.data())) {
    std::perror("sjs fuzz: mkdtemp");
    std::abort();
  }
  return tmpl;
}

std::string g_temp_dir;
void remove_temp_dir() {
  std::error_code ec;
  if (!g_temp_dir.empty()) std::filesystem::remove_all(g_temp_dir, ec);
}

}  // namespace

struct FuzzDaemon::Impl {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
  DaemonConfig config, auth_config;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<BlobStore> blobs;
  std::unique_ptr<Service> service;
  std::unique_ptr<UnixServer> unix_server;
  std::unique_ptr<HttpServer> http, http_auth;
  std::thread thread;
};

FuzzDaemon& FuzzDaemon::get() {
  static FuzzDaemon* daemon = new FuzzDaemon();  // never destroyed: the io thread runs until exit
  return *daemon;
}

FuzzDaemon::FuzzDaemon() : m_impl(new Impl) {
  ::signal(SIGPIPE, SIG_IGN);
  spdlog::set_level(std::getenv("SJS_FUZZ_LOG") ? spdlog::level::debug : spdlog::level::off);
  g_temp_dir = make_temp_dir();
  std::atexit(remove_temp_dir);
  auto& d = *m_impl;
  d.config.apply(nlohmann::json::object(), "defaults");
  d.config.data_dir = g_temp_dir + "/data";
  d.config.socket = g_temp_dir + "/sjsd.sock";
  d.config.store_map_size_mb = 2048;
  d.config.http_listen = "127.0.0.1:0";
  d.config.kill_grace_s = 0.2;
  d.config.shutdown_grace_s = 0.2;
  d.config.http_max_body_mb = 4;
  d.config.logs_max_bytes_per_job = 1 << 20;
  d.config.cluster_health_interval_s = 0;
  std::filesystem::create_directories(d.config.data_dir);
  // The second front end reads its users from a data dir of its own (uploads land there too).
  d.auth_config = d.config;
  d.auth_config.data_dir = g_temp_dir + "/auth";
  std::filesystem::create_directories(d.auth_config.data_dir);
  users::UsersFile users;
  users::User u;
  u.name = "fuzz";
  u.password = users::hash_password(k_password, users::k_min_iterations);
  u.permissions = {"*"};
  u.tokens.push_back(users::Token{users::sha256_hex(k_token), 0});
  users.users[u.name] = u;
  users::User reader = u;
  reader.name = "reader";
  reader.permissions = {"jobs:read", "binaries:read"};
  reader.tokens = {users::Token{users::sha256_hex(std::string(k_token).substr(1) + "1"), 0}};
  users.users[reader.name] = reader;
  users::save_users(users::users_file_path(d.auth_config.data_dir, ""), users);

  d.store = std::make_unique<store::Store>(
      store::StoreOptions{d.config.data_dir + "/store", std::size_t{d.config.store_map_size_mb} << 20},
      [&io = d.io](std::function<void()> fn) { asio::post(io, std::move(fn)); });
  d.blobs = std::make_unique<BlobStore>(d.config.data_dir + "/blobs");
  RuntimeFactory factory = [&io = d.io](const std::string& runtime, JobSink& sink, const RuntimeOptions&,
                                        const nlohmann::json&) -> std::unique_ptr<Runtime> {
    return std::make_unique<InstantRuntime>(io, sink, runtime);
  };
  d.service = std::make_unique<Service>(d.io, *d.store, *d.blobs, d.config, factory);
  d.service->set_stop_handler([] {});  // daemon.stop is answered, and the fuzzing goes on
  d.unix_server = std::make_unique<UnixServer>(d.io, *d.service, d.config.socket, k_default_max_frame);
  d.http = make_http_server(d.io, *d.service, d.config);
  d.http_auth = make_http_server(d.io, *d.service, d.auth_config);
  d.service->start();
  d.unix_server->start();
  d.http->start();
  d.http_auth->start();
  m_socket = d.config.socket;
  m_http_port = d.http->port();
  m_http_auth_port = d.http_auth->port();
  d.thread = std::thread([&d] { d.io.run(); });
  d.thread.detach();
}

bool FuzzDaemon::healthy() {
  const std::string reply = exchange_unix(m_socket, encode_frame(R"({"op":"daemon.status","id":1})"), 10000);
  return reply.find("\"ok\":true") != std::string::npos || reply.find("\"result\"") != std::string::npos;
}

namespace {

std::string exchange(int fd, std::string_view bytes, int timeout_ms) {
  std::string got;
  std::size_t sent = 0;
  bool write_closed = false;
  char buf[65536];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (sent == bytes.size() && !write_closed) {
      ::shutdown(fd, SHUT_WR);
      write_closed = true;
    }
    pollfd p{fd, static_cast<short>(POLLIN | (write_closed ? 0 : POLLOUT)), 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    if (p.revents & POLLIN || p.revents & POLLHUP) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        got.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0 || (errno != EINTR && errno != EAGAIN)) break;  // the peer closed (or reset)
    }
    if (p.revents & POLLOUT && !write_closed) {
      ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) sent += static_cast<std::size_t>(n);
      else if (n < 0 && errno != EAGAIN && errno != EINTR) write_closed = true;  // reset: read what came
    }
    if (p.revents & POLLERR) break;
  }
  ::close(fd);
  return got;
}

// connect(), where a signal (libFuzzer's timer) may interrupt it: the connection then completes on
// its own, and poll() says when.
bool connect_retrying(int fd, const sockaddr* addr, socklen_t len) {
  if (::connect(fd, addr, len) == 0) return true;
  if (errno != EINTR) return false;
  pollfd p{fd, POLLOUT, 0};
  while (::poll(&p, 1, 10000) < 0 && errno == EINTR) {
  }
  int err = 0;
  socklen_t n = sizeof err;
  return ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &n) == 0 && err == 0;
}

}  // namespace

std::string exchange_unix(const std::string& path, std::string_view bytes, int timeout_ms) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  if (fd < 0 || !connect_retrying(fd, reinterpret_cast<sockaddr*>(&a), sizeof a)) {
    std::fprintf(stderr, "sjs fuzz: cannot connect to %s: %s\n", path.c_str(), std::strerror(errno));
    std::abort();  // the daemon is gone: that is a finding
  }
  return exchange(fd, bytes, timeout_ms);
}

std::string exchange_tcp(unsigned short port, std::string_view bytes, int timeout_ms) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || !connect_retrying(fd, reinterpret_cast<sockaddr*>(&a), sizeof a)) {
    std::fprintf(stderr, "sjs fuzz: cannot connect to port %u: %s\n", port, std::strerror(errno));
    std::abort();
  }
  return exchange(fd, bytes, timeout_ms);
}

}  // namespace sjs::fuzz

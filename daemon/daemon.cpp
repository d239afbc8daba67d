#include "daemon.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "blobs.hpp"
#include "runtimes/process.hpp"
#include "service.hpp"
#include "sjs/config.hpp"
#include "sjs/errors.hpp"
#include "sjs/framing.hpp"
#include "sjs/paths.hpp"
#include "sjs/util.hpp"
#include "store/store.hpp"
#include "http/auth.hpp"
#include "http/callbacks.hpp"
#include "http/http_server.hpp"
#include "http/metrics.hpp"
#include "http/routes.hpp"
#include "http/users.hpp"
#include "unix_server.hpp"

namespace sjs {

namespace asio = boost::asio;

int parse_daemon_args(int argc, char** argv, DaemonConfig& config) {
  CLI::App app{"sjsd: the sjs job server daemon. Usually started by `sjs daemon start` or systemd."};
  std::string data_dir, socket;
  app.add_flag("-f,--foreground", config.foreground, "Stay in the foreground and log to stderr (for systemd)");
  app.add_option("--data-dir", data_dir, "Data directory (default: $SJS_HOME, else $XDG_DATA_HOME/sjs)");
  app.add_option("--socket", socket, "Unix socket path (default: $SJS_SOCKET, see sjsd(1))");
  app.add_option("--config", config.config_file, "Config file (default: <data dir>/sjsd.conf if present)");
  app.add_option("--log-level", config.log_level_flag, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.add_option("--http", config.http_listen_flag,
                 "Serve the HTTP API on ADDR[:PORT] (default port 8090; :PORT = loopback)");
  app.add_flag("--http-allow-public", config.http_allow_public,
               "Allow a non-loopback --http address without authentication (not recommended)");
  app.set_version_flag("--version", std::string("sjsd ") + SJS_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : exit_code::k_usage;
  }
  Paths p = resolve_paths(data_dir, socket);
  config.data_dir = p.data_dir;
  config.socket = p.socket;
  return -1;
}

namespace {

// Where each runtime's programs are (java, the runner, Spark...), unless sjsd.conf says: each
// launcher resolves its own keys (runtimes/registry.cpp).
void resolve_runtime_paths(DaemonConfig& config) { resolve_launch_paths(config.launch); }

// "ADDR:PORT", ":PORT", "PORT" or "ADDR" -> (address, port); loopback when no
// address is given, port 8090 (spark-jobserver's) when no port is.
std::pair<std::string, unsigned short> parse_listen(const std::string& listen) {
  std::string addr = "127.0.0.1", port = listen;
  auto colon = listen.rfind(':');
  const bool bare_ipv6 = listen.find(':') != colon;  // "::1" without brackets or port
  if (!listen.empty() && listen.find_first_not_of("0123456789") != std::string::npos &&
      (colon == std::string::npos || (bare_ipv6 && listen.back() != ']' && listen.front() != '['))) {
    return {listen, 8090};
  }
  if (colon != std::string::npos) {
    addr = listen.substr(0, colon);
    port = listen.substr(colon + 1);
    if (addr.size() > 1 && addr.front() == '[' && addr.back() == ']') addr = addr.substr(1, addr.size() - 2);
    if (addr.empty()) addr = "127.0.0.1";
  }
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end || p < 0 || p > 65535) {
    throw Error(ErrorCode::bad_request, "bad HTTP listen address \"" + listen + "\": use ADDR:PORT, e.g. 127.0.0.1:8090");
  }
  return {addr, static_cast<unsigned short>(p)};
}

bool is_loopback(const std::string& addr) {
  return addr == "localhost" || addr == "::1" || starts_with(addr, "127.");
}

}  // namespace

std::unique_ptr<HttpServer> make_http_server(asio::io_context& io, Service& service, const DaemonConfig& config) {
  HttpOptions o;
  std::tie(o.address, o.port) = parse_listen(config.http_listen);
  o.tls_cert = config.http_tls_cert;
  o.tls_key = config.http_tls_key;
  o.max_body_bytes = config.http_max_body_mb << 20;
  o.header_timeout_s = config.http_header_timeout_s;
  o.upload_dir = config.data_dir + "/uploads";
  make_dirs(o.upload_dir, 0700);

  // Authentication: on when the users file has a user (it is re-read when it changes).
  AuthOptions ao;
  ao.users_file = users::users_file_path(config.data_dir, config.http_users_file);
  auto cors = std::make_shared<const Cors>(config.http_cors_origin);
  ao.cors = cors->enabled();
  const bool public_address = !is_loopback(o.address);
  if (public_address && users::load_users(ao.users_file).users.empty()) {  // a malformed file throws: no start
    if (!config.http_allow_public) {
      throw Error(ErrorCode::bad_request, "refusing to serve HTTP on " + o.address +
                                              " without authentication: configure users (sjs user add) or pass "
                                              "--http-allow-public");
    }
    spdlog::warn("serving HTTP on {} WITHOUT authentication: anyone who can reach it can run jobs", o.address);
  }
  // Served on a public address because users exist: should the file lose them all, nobody gets in.
  ao.required = public_address && !config.http_allow_public;
  auto authenticator = std::make_shared<Authenticator>(io, ao);
  authenticator->load();  // a malformed users file stops the start, with its message
  HttpAuthenticator auth = [authenticator](HttpRequest& req, std::shared_ptr<HttpResponder> r,
                                           std::function<void()> proceed) {
    authenticator->authenticate(req, std::move(r), std::move(proceed));
  };

  // Metrics: job start/end from the service, every response from the server; CORS headers on every response.
  auto metrics = std::make_shared<Metrics>();
  service.events().on_started([metrics](const JobInfo& job) { metrics->job_event(job); });
  service.events().on_ended([metrics](const JobInfo& job, const nlohmann::json&) { metrics->job_event(job); });
  o.on_response = [metrics, cors](const HttpRequest& req, int status,
                                  std::vector<std::pair<std::string, std::string>>& headers) {
    metrics->response(status);
    cors->add_headers(req, headers);
  };
  HttpSite site{metrics, cors->enabled() ? cors : nullptr};
  return std::make_unique<HttpServer>(
      io, o, auth,
      [&service, site](const HttpRequest& req, std::shared_ptr<HttpResponder> r) {
        route_http(service, site, req, r);
      });
}

namespace {

// Holds an exclusive lock on <data dir>/sjsd.pid for the daemon's life.
int lock_pidfile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw Error(ErrorCode::internal, "cannot open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {0};
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "?";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    throw Error(ErrorCode::in_use, "another sjsd (pid " + pid + ") is already serving " + parent_dir(path) +
                                       " (stop it with: sjs daemon stop)");
  }
  std::string text = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, text.data(), text.size(), 0) < 0) {
    spdlog::warn("cannot write {}: {}", path, std::strerror(errno));
  }
  return fd;
}

void setup_logging(const DaemonConfig& config) {
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(config.data_dir + "/sjsd.log", 10u << 20, 3));
  if (config.foreground) sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  auto logger = std::make_shared<spdlog::logger>("sjsd", sinks.begin(), sinks.end());
  logger->set_level(spdlog::level::from_str(config.log_level));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

// Detaches: fork, setsid, fork. The original process waits on a pipe for
// "ok" (or an error message) from the daemon and exits accordingly.
// Returns the write end of the pipe in the daemon; never returns in the parent.
int daemonize() {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) throw Error(ErrorCode::internal, "pipe failed");
  pid_t pid = ::fork();
  if (pid < 0) throw Error(ErrorCode::internal, "fork failed");
  if (pid > 0) {
    ::close(pipefd[1]);
    std::string msg;
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(pipefd[0], buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      msg.append(buf, static_cast<std::size_t>(n));
    }
    if (msg.rfind("ok", 0) == 0) ::_exit(0);
    // "E<exit code>:<message>" from the daemon, or nothing if it died.
    int code = exit_code::k_internal;
    auto colon = msg.find(':');
    if (msg.size() > 1 && msg[0] == 'E' && colon != std::string::npos) {
      code = std::atoi(msg.substr(1, colon - 1).c_str());
      msg = msg.substr(colon + 1);
    }
    if (msg.empty()) msg = "sjsd exited during start-up (see sjsd.log and sjsd.stderr in its data dir)";
    std::fprintf(stderr, "sjsd: %s\n", msg.c_str());
    ::_exit(code > 0 ? code : exit_code::k_internal);
  }
  ::close(pipefd[0]);
  ::setsid();
  pid = ::fork();
  if (pid < 0) ::_exit(1);
  if (pid > 0) ::_exit(0);
  int null = ::open("/dev/null", O_RDWR);
  if (null >= 0) {
    ::dup2(null, 0);
    ::dup2(null, 1);
    if (null > 2) ::close(null);
  }
  return pipefd[1];
}

void report(int fd, const std::string& msg) {
  if (fd < 0) return;
  ssize_t n = ::write(fd, msg.data(), msg.size());
  (void)n;
  ::close(fd);
}

}  // namespace

int run_daemon(DaemonConfig config) {
  int ready_fd = -1;
  try {
    make_dirs(config.data_dir, 0700);
    const std::string conf_file = config.config_file.empty() ? config.data_dir + "/sjsd.conf" : config.config_file;
    if (!config.config_file.empty() || ::access(conf_file.c_str(), F_OK) == 0) {
      config.apply(parse_config_text(read_file(conf_file), conf_file), conf_file);
    } else {
      config.apply(nlohmann::json::object(), "defaults");
    }
    resolve_runtime_paths(config);
    if (!config.foreground) {
      ready_fd = daemonize();
      // stderr goes to a file in the data dir: a crash message is not lost.
      int err = ::open((config.data_dir + "/sjsd.stderr").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (err >= 0) {
        ::dup2(err, 2);
        ::close(err);
      }
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "sjsd: %s\n", e.what());
    return e.exit_code();
  }

  try {
    const int pid_fd = lock_pidfile(config.data_dir + "/sjsd.pid");
    setup_logging(config);
    ::signal(SIGPIPE, SIG_IGN);
    ::signal(SIGHUP, SIG_IGN);
    raise_open_files_limit();
    remove_stale_cgroups();  // of sjsd processes that died without removing theirs
    spdlog::info("context limits: {}", limits_mechanism());

    asio::io_context io;
    store::StoreOptions so;
    so.dir = config.data_dir + "/store";
    so.map_size = static_cast<std::size_t>(config.store_map_size_mb) << 20;
    store::Store store(so, [&io](std::function<void()> fn) { asio::post(io, std::move(fn)); });
    BlobStore blobs(config.data_dir + "/blobs");
    Service service(io, store, blobs, config);
    // Job callbacks go out whether or not HTTP is served (a job submitted over HTTP before a
    // restart may still be owed one).
    service.set_callback_sender(Service::CallbackSender{
        [](const std::string& url) { parse_callback_url(url); },
        [&io](const JobResult& ended, std::function<void()> finished) {
          send_callback(io, ended.job.callback_url, callback_body(ended), {}, std::move(finished));
        }});
    UnixServer server(io, service, config.socket, k_default_max_frame);
    std::unique_ptr<HttpServer> http;
    if (!config.http_listen.empty()) http = make_http_server(io, service, config);

    bool stopping = false;
    auto stop = [&] {
      if (stopping) return;
      stopping = true;
      server.stop();
      if (http) http->stop();
      service.shutdown([&] {
        store.flush();
        server.close_sessions();
        io.stop();
      });
    };
    service.set_stop_handler([&] { asio::post(io, stop); });
    asio::signal_set signals(io, SIGTERM, SIGINT);
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      spdlog::info("received {}: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      stop();
    });

    service.start();
    server.start();
    if (http) {
      http->start();
      auto [addr, port] = parse_listen(config.http_listen);
      const std::string host = addr.find(':') != std::string::npos ? "[" + addr + "]" : addr;
      const std::string url =
          std::string(config.http_tls_cert.empty() ? "http" : "https") + "://" + host + ":" + std::to_string(http->port());
      spdlog::info("HTTP API on {}", url);
      // The URL, port included (http.listen may ask for port 0): for `sjs daemon status` and scripts.
      write_file_atomic(config.data_dir + "/sjsd.url", url + "\n", 0600);
      service.set_http_url(url);
    } else {
      ::unlink((config.data_dir + "/sjsd.url").c_str());
    }
    spdlog::info("sjsd {} (pid {}) serving {} on {}", SJS_VERSION, ::getpid(), config.data_dir, config.socket);
    report(ready_fd, "ok");
    ready_fd = -1;
    io.run();
    remove_stale_cgroups();  // its own, with whatever is left in them
    spdlog::info("sjsd stopped");
    ::close(pid_fd);
    return 0;
  } catch (const Error& e) {
    spdlog::error("{}", e.what());
    if (ready_fd >= 0) {
      report(ready_fd, "E" + std::to_string(e.exit_code()) + ":" + e.what());
    } else {
      std::fprintf(stderr, "sjsd: %s\n", e.what());
    }
    return e.exit_code();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    if (ready_fd >= 0) report(ready_fd, "E" + std::to_string(exit_code::k_internal) + ":" + e.what());
    std::fprintf(stderr, "sjsd: %s\n", e.what());
    return exit_code::k_internal;
  }
}

}  // namespace sjs

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <thread>
#include <unistd.h>

#include "cli.hpp"
#include "http_transport.hpp"
#include "sjs/errors.hpp"
#include "sjs/paths.hpp"
#include "sjs/util.hpp"

extern char** environ;

namespace sjs::cli {

std::string sjsd_path() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    std::string self(buf, static_cast<std::size_t>(n));
    std::string candidate = parent_dir(self) + "/sjsd";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "sjsd";  // posix_spawnp searches PATH
}

namespace {

bool answers(const std::string& socket) {
  try {
    Client c(socket);
    return true;
  } catch (const Error&) {
    return false;
  }
}

bool autostart_disabled(const Globals& g) {
  const char* env = std::getenv("SJS_NO_AUTOSTART");
  return g.no_autostart || (env && *env && std::string(env) != "0");
}

}  // namespace

bool ensure_daemon(const Globals& g, bool quiet, const std::vector<std::string>& sjsd_args) {
  Paths p = resolve_paths(g.data_dir, g.socket);
  if (answers(p.socket)) return false;
  // One starter at a time: a second client waits here, then finds it running.
  make_dirs(parent_dir(p.socket), 0700);
  const std::string lock_path = p.socket + ".lock";
  int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock >= 0) ::flock(lock, LOCK_EX);
  struct Unlock {
    int fd;
    ~Unlock() {
      if (fd >= 0) ::close(fd);
    }
  } unlock{lock};
  if (answers(p.socket)) return false;

  const std::string sjsd = sjsd_path();
  std::vector<std::string> args = {sjsd, "--data-dir", p.data_dir, "--socket", p.socket};
  args.insert(args.end(), sjsd_args.begin(), sjsd_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, sjsd.c_str(), nullptr, nullptr, argv.data(), environ);
  if (rc != 0) {
    throw Error(ErrorCode::unavailable, "cannot start sjsd (" + sjsd + "): " + std::strerror(rc) +
                                            ": install it next to sjs or on PATH");
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : exit_code::k_internal;
    Error e(ErrorCode::unavailable, "sjsd did not start (see its message above and " + p.data_dir + "/sjsd.log)");
    if (code == exit_code::k_conflict) throw Error(ErrorCode::in_use, e.what());
    throw e;
  }
  // sjsd's parent exits once the socket is bound; allow a moment for a slow disk.
  for (int i = 0; i < 200 && !answers(p.socket); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (!quiet) std::cerr << "sjs: started sjsd (data in " << p.data_dir << ")\n";
  return true;
}

namespace {

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// The password of --user: --password-stdin, else $SJS_PASSWORD, else asked on the terminal.
std::string password_for(const Globals& g) {
  if (g.password_stdin) return read_stdin_line();
  if (const char* env = std::getenv("SJS_PASSWORD")) return env;
  if (!::isatty(STDIN_FILENO)) {
    throw Error(ErrorCode::usage, "--user " + g.user + " needs a password: set SJS_PASSWORD, or pass --password-stdin "
                                  "and the password as the first line of stdin");
  }
  return prompt_hidden("Password for " + g.user + " at " + g.url + ": ");
}

std::unique_ptr<Transport> connect_http(const Globals& g) {
  HttpTransportOptions o;
  o.url = g.url;
  o.cacert = g.cacert;
  o.insecure = g.insecure;
  o.user_agent = std::string("sjs/") + SJS_VERSION;
  if (!g.user.empty() && !g.token.empty()) throw Error(ErrorCode::usage, "give --user or --token, not both");
  if (!g.token.empty()) {
    o.token = g.token;
  } else if (!g.user.empty()) {
    o.user = g.user;
    o.password = password_for(g);
  } else {
    o.token = env_or_empty("SJS_TOKEN");
  }
  auto client = std::make_unique<HttpTransport>(o);
  if (g.insecure && client->url().rfind("https://", 0) == 0) {
    std::cerr << "sjs: warning: --insecure: the TLS certificate of " << client->url()
              << " is not verified; anyone in between can read and change this session\n";
  }
  return client;
}

}  // namespace

Transport& Context::client() {
  if (m_client) return *m_client;
  if (remote()) {
    // Over HTTP: no socket, and never an autostart (a remote sjsd is managed on its host).
    m_client = connect_http(globals);
    m_client->hello(std::string("sjs ") + SJS_VERSION);
    return *m_client;
  }
  if (!globals.user.empty() || !globals.token.empty()) {
    throw Error(ErrorCode::usage, "--user and --token are for --url (HTTP): over its socket, sjsd trusts your uid");
  }
  Paths p = resolve_paths(globals.data_dir, globals.socket);
  std::unique_ptr<Client> local;
  try {
    local = std::make_unique<Client>(p.socket);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::unavailable) throw;
    if (autostart_disabled(globals)) {
      throw Error(ErrorCode::unavailable, "sjsd is not running (no answer at " + p.socket +
                                              "): start it with `sjs daemon start`");
    }
    ensure_daemon(globals, globals.quiet || globals.json);
    local = std::make_unique<Client>(p.socket);
  }
  local->hello(std::string("sjs ") + SJS_VERSION);
  m_client = std::move(local);
  return *m_client;
}

namespace {

std::string exit_code_help() {
  std::string s = "\nExit codes:\n";
  for (const auto& o : outcome_table()) {
    char line[160];
    std::snprintf(line, sizeof line, "  %3d  %s\n", o.exit_code, std::string(o.meaning).c_str());
    s += line;
  }
  s += "\nEnvironment: SJS_HOME (data dir), SJS_SOCKET, SJS_NO_AUTOSTART=1; remote: SJS_URL, SJS_TOKEN, SJS_PASSWORD,\n"
       "SJS_CACERT.\nSee sjs(1) and docs/ for more.\n";
  return s;
}

}  // namespace

int run(int argc, char** argv) {
  // Everything after the first "--" belongs to the job (sjs job submit ... -- ARGS).
  std::vector<std::string> job_args;
  std::vector<char*> cli_argv;
  int i = 0;
  for (; i < argc; ++i) {
    if (i > 0 && std::strcmp(argv[i], "--") == 0) break;
    cli_argv.push_back(argv[i]);
  }
  bool had_separator = i < argc;
  for (++i; i < argc; ++i) job_args.emplace_back(argv[i]);

  Context ctx;
  CLI::App app{"sjs: run Spark and other jobs on warm contexts, through the sjsd daemon."};
  app.name("sjs");
  app.require_subcommand(1);
  app.footer(exit_code_help());
  app.set_version_flag("--version", std::string("sjs ") + SJS_VERSION);
  app.add_flag("--json", ctx.globals.json, "Machine-readable JSON on stdout");
  app.add_option("--socket", ctx.globals.socket, "sjsd's socket (default: $SJS_SOCKET, see sjs(1))");
  app.add_option("--data-dir", ctx.globals.data_dir, "sjsd's data dir (default: $SJS_HOME, $XDG_DATA_HOME/sjs)");
  app.add_flag("--no-autostart", ctx.globals.no_autostart, "Fail instead of starting sjsd (also SJS_NO_AUTOSTART=1)");
  app.add_flag("-q,--quiet", ctx.globals.quiet, "No informational messages on stderr");
  // Remote use. The environment gives the defaults; an option given overrides them.
  ctx.globals.url = env_or_empty("SJS_URL");
  ctx.globals.cacert = env_or_empty("SJS_CACERT");
  app.add_option("--url", ctx.globals.url, "Talk to sjsd over HTTP(S) at URL, e.g. https://host:8090 (also SJS_URL)");
  app.add_option("--user", ctx.globals.user, "With --url: log in as USER (password: SJS_PASSWORD, stdin or a prompt)");
  app.add_flag("--password-stdin", ctx.globals.password_stdin, "With --user: read the password from stdin's first line");
  app.add_option("--token", ctx.globals.token, "With --url: log in with this API token (also SJS_TOKEN)");
  app.add_option("--cacert", ctx.globals.cacert, "With https://: also trust the CAs in this PEM file (also SJS_CACERT)");
  app.add_flag("--insecure", ctx.globals.insecure, "With https://: do not verify the server's certificate (unsafe)");
  // Global options are also taken after the command (`sjs job list --json`): every subcommand,
  // made after this, passes options it does not know to its parent.
  app.fallthrough();
  add_binary_commands(app, ctx);
  add_context_commands(app, ctx);
  add_job_commands(app, ctx, job_args);
  add_cluster_commands(app, ctx);
  add_daemon_commands(app, ctx);
  add_user_commands(app, ctx);

  try {
    app.parse(static_cast<int>(cli_argv.size()), cli_argv.data());
    (void)had_separator;
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : exit_code::k_usage;
  } catch (const Error& e) {
    if (ctx.globals.json) {
      print_json({{"error", error_to_json(e)}});
    }
    std::cerr << "sjs: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "sjs: " << e.what() << "\n";
    return exit_code::k_internal;
  }
  return ctx.exit_code;
}

}  // namespace sjs::cli

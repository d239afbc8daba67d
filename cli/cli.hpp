// Shared plumbing of the sjs CLI: global options, the daemon connection
// (the Unix socket, started on demand; or HTTP with --url), and output helpers. Commands live in commands/, one
// file per family, each registering its subcommands.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "sjs/client.hpp"
#include "sjs/transport.hpp"
#include "sjs/messages.hpp"

namespace sjs::cli {

struct Globals {
  std::string socket;
  std::string data_dir;
  bool json = false;
  bool no_autostart = false;
  bool quiet = false;
  // Remote use: sjs's HTTP API at `url` (--url, else $SJS_URL) instead of the socket.
  std::string url;
  std::string user;             // --user: Basic credentials; password from $SJS_PASSWORD, stdin or a prompt
  std::string token;            // --token (else $SJS_TOKEN): Bearer credentials
  std::string cacert;           // --cacert (else $SJS_CACERT): a CA to trust for https://
  bool insecure = false;        // --insecure: do not verify the server's certificate
  bool password_stdin = false;  // --password-stdin: the password is the first line of stdin
};

// The command that ran sets this; main returns it.
struct Context {
  Globals globals;
  int exit_code = 0;
  // Connects (starting sjsd first unless told not to; never for --url) and says hello.
  Transport& client();
  // True when the commands go to sjsd over HTTP (--url or $SJS_URL).
  bool remote() const { return !globals.url.empty(); }
  std::unique_ptr<Transport> m_client;
};

// Family registration (commands/<family>.cpp).
void add_binary_commands(CLI::App& app, Context& ctx);
void add_context_commands(CLI::App& app, Context& ctx);
void add_job_commands(CLI::App& app, Context& ctx, std::vector<std::string>& job_args);
void add_daemon_commands(CLI::App& app, Context& ctx);
void add_user_commands(CLI::App& app, Context& ctx);     // edits the HTTP users file; no daemon
void add_cluster_commands(CLI::App& app, Context& ctx);

// Starts sjsd for these paths if nothing answers; returns true if it started one.
// `sjsd_args` are passed on to sjsd (e.g. --http ADDR:PORT).
bool ensure_daemon(const Globals& g, bool quiet, const std::vector<std::string>& sjsd_args = {});
// Where the sjsd binary is: next to this sjs, else on PATH.
std::string sjsd_path();

// ---- output -----------------------------------------------------------------
void print_json(const nlohmann::json& j);                 // stdout, pretty
void info(const Context& ctx, const std::string& line);   // stderr, unless --quiet or --json
// First row: the header (its width counts; with header=false it is not printed).
void print_table(const std::vector<std::vector<std::string>>& rows, bool header = true);
std::string human_size(std::uint64_t bytes);
std::string human_time(std::int64_t ms);                  // local time, seconds precision; "-" for 0
std::string job_duration(const JobInfo& job);
// Prints a job's result or error the way `submit --sync`, `wait` and `result` do,
// and returns the exit code that tells its outcome.
int report_outcome(Context& ctx, const JobResult& r);
int outcome_exit_code(const JobInfo& job);

// One line from fd 0, read a byte at a time so that the rest of stdin stays unread.
std::string read_stdin_line();
// Prints `prompt` on stderr and reads a line from the terminal without echo.
std::string prompt_hidden(const std::string& prompt);

int run(int argc, char** argv);

}  // namespace sjs::cli

// Shared plumbing of the sjs CLI: global options, the daemon connection
// (started on demand), and output helpers. Commands live in commands/, one
// file per family, each registering its subcommands.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "sjs/client.hpp"
#include "sjs/messages.hpp"

namespace sjs::cli {

struct Globals {
  std::string socket;
  std::string data_dir;
  bool json = false;
  bool no_autostart = false;
  bool quiet = false;
};

// The command that ran sets this; main returns it.
struct Context {
  Globals globals;
  int exit_code = 0;
  // Connects (starting sjsd first unless told not to) and says hello.
  Client& client();
  std::unique_ptr<Client> m_client;
};

// Family registration (commands/<family>.cpp).
void add_binary_commands(CLI::App& app, Context& ctx);
void add_context_commands(CLI::App& app, Context& ctx);
void add_job_commands(CLI::App& app, Context& ctx, std::vector<std::string>& job_args);
void add_daemon_commands(CLI::App& app, Context& ctx);

// Starts sjsd for these paths if nothing answers; returns true if it started one.
bool ensure_daemon(const Globals& g, bool quiet);
// Where the sjsd binary is: next to this sjs, else on PATH.
std::string sjsd_path();

// ---- output -----------------------------------------------------------------
void print_json(const nlohmann::json& j);                 // stdout, pretty
void info(const Context& ctx, const std::string& line);   // stderr, unless --quiet or --json
void print_table(const std::vector<std::vector<std::string>>& rows);  // first row: header
std::string human_size(std::uint64_t bytes);
std::string human_time(std::int64_t ms);                  // local time, seconds precision; "-" for 0
std::string job_duration(const JobInfo& job);
// Prints a job's result or error the way `submit --sync`, `wait` and `result` do,
// and returns the exit code that tells its outcome.
int report_outcome(Context& ctx, const JobResult& r);
int outcome_exit_code(const JobInfo& job);

int run(int argc, char** argv);

}  // namespace sjs::cli

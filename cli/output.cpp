#include <cerrno>
#include <cstdio>
#include <termios.h>
#include <unistd.h>
#include <ctime>
#include <iostream>

#include "cli.hpp"
#include "sjs/errors.hpp"
#include "sjs/util.hpp"

namespace sjs::cli {

void print_json(const nlohmann::json& j) {
  std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

void info(const Context& ctx, const std::string& line) {
  if (ctx.globals.quiet || ctx.globals.json) return;
  std::cerr << line << "\n";
}

void print_table(const std::vector<std::vector<std::string>>& rows, bool header) {
  if (rows.empty()) return;
  std::vector<std::size_t> widths(rows[0].size(), 0);
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size() && i < widths.size(); ++i) widths[i] = std::max(widths[i], r[i].size());
  for (std::size_t n = header ? 0 : 1; n < rows.size(); ++n) {
    const auto& r = rows[n];
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(widths[i] - r[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

std::string human_size(std::uint64_t bytes) {
  char buf[32];
  if (bytes < 1024) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else if (bytes < (1u << 20)) std::snprintf(buf, sizeof buf, "%.1f KiB", bytes / 1024.0);
  else if (bytes < (1u << 30)) std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / 1048576.0);
  else std::snprintf(buf, sizeof buf, "%.1f GiB", bytes / 1073741824.0);
  return buf;
}

std::string human_time(std::int64_t ms) {
  if (ms <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string job_duration(const JobInfo& job) {
  if (!job.started_ms) return "-";
  std::int64_t end = job.ended_ms ? job.ended_ms : now_ms();
  return format_duration(end - job.started_ms) + (job.ended_ms ? "" : " (running)");
}

int outcome_exit_code(const JobInfo& job) {
  if (job.state == job_state::k_finished) return exit_code::k_ok;
  if (job.state == job_state::k_error) {
    return job.end_reason == end_reason::k_validation ? exit_code::k_validation_failed : exit_code::k_job_failed;
  }
  if (job.state == job_state::k_killed) {
    return job.end_reason == end_reason::k_timeout ? exit_code::k_job_timed_out : exit_code::k_job_killed;
  }
  return exit_code::k_wait_timeout;  // QUEUED or RUNNING: not ended yet
}

int report_outcome(Context& ctx, const JobResult& r) {
  const JobInfo& j = r.job;
  int code = outcome_exit_code(j);
  if (ctx.globals.json) {
    print_json(r);
    return code;
  }
  if (r.wait_timed_out || !is_final_job_state(j.state)) {
    std::cerr << "sjs: job " << j.id << " is still " << j.state << " (it goes on; check it with: sjs job wait "
              << j.id << ")\n";
    return exit_code::k_wait_timeout;
  }
  if (j.state == job_state::k_finished) {
    if (r.result.is_string()) std::cout << r.result.get<std::string>() << "\n";
    else if (!r.result.is_null()) print_json(r.result);
    return code;
  }
  std::string message = j.error.is_object() ? j.error.value("message", "") : std::string();
  std::cerr << "sjs: job " << j.id << " " << j.state << ": " << message << "\n";
  // A failed validation's "stack" is its list of problems, already in the message.
  const bool validation = j.end_reason == end_reason::k_validation;
  if (!validation && j.error.is_object() && j.error.contains("stack") && j.error["stack"].is_array() &&
      !ctx.globals.quiet) {
    for (const auto& line : j.error["stack"]) {
      if (line.is_string()) std::cerr << "    " << line.get<std::string>() << "\n";
    }
  }
  return code;
}

// One line from fd 0, read a byte at a time so that the rest of stdin stays unread.
std::string read_stdin_line() {
  std::string line;
  char c;
  for (;;) {
    ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n') break;
    line += c;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::string prompt_hidden(const std::string& prompt) {
  // Echo goes off before the prompt shows: what is typed once it shows is never echoed.
  termios old{};
  const bool tty = ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::cerr << prompt << std::flush;
  std::string line = read_stdin_line();
  if (tty) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  std::cerr << "\n";
  return line;
}

}  // namespace sjs::cli

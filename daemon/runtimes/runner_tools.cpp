#include "runtimes/runner_tools.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <chrono>
#include <csignal>
#include <thread>
#include <unistd.h>
#include <sys/wait.h>

#include <spdlog/spdlog.h>

#include "runtimes/process.hpp"
#include "sjs/errors.hpp"

namespace sjs {
namespace {

constexpr double k_tool_timeout_s = 60;

struct ToolRun {
  bool ran = false;       // the tool started and wrote its one JSON line
  nlohmann::json answer;  // that line
  std::string why;        // why not, when !ran
};

// Runs a tool (argv[0] searched on PATH) and reads its one JSON line from stdout.
ToolRun run_tool(const std::vector<std::string>& argv) {
  ToolRun out;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    out.why = std::string("pipe: ") + std::strerror(errno);
    return out;
  }
  SpawnSpec spec;
  spec.path = argv.front();
  spec.argv = argv;
  spec.env = child_environment({});
  spec.stdout_fd = pipe_fds[1];
  pid_t pid = -1;
  try {
    pid = spawn_process(spec);
  } catch (const Error& e) {
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    out.why = e.what();
    return out;
  }
  ::close(pipe_fds[1]);
  std::string text;
  char buf[65536];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(k_tool_timeout_s);
  for (;;) {
    ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
    if (n > 0) {
      if (text.size() < (16u << 20)) text.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    out.why = spec.path + " " + describe_wait_status(status);
    return out;
  }
  const auto nl = text.find('\n');
  out.answer = nlohmann::json::parse(text.substr(0, nl), nullptr, false);
  if (!out.answer.is_object()) {
    out.why = "its tool wrote no answer";
    return out;
  }
  out.ran = true;
  return out;
}

// `python -I RUNNER/sjs_tools.py ARGS...` (-I: no user site, no PYTHON* variables).
ToolRun run_python_tool(const LaunchConfig& config, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {config.python.empty() ? "python3" : config.python, "-I",
                                   config.python_runner + "/sjs_tools.py"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_tool(argv);
}

std::string text_of(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

bool check_python_source(const LaunchConfig& config, const std::string& path, const std::string& display_name) {
  ToolRun r = run_python_tool(config, {"check", path, display_name});
  if (!r.ran) {
    spdlog::warn("{}: not compile-checked: {} could not run sjs_tools.py ({})", display_name, config.python, r.why);
    return false;
  }
  if (r.answer.value("ok", false)) return true;
  const int line = r.answer.value("line", 0);
  std::string msg = text_of(r.answer, "file");
  if (line > 0) msg += ", line " + std::to_string(line);
  msg += ": " + text_of(r.answer, "message");
  const std::string code = text_of(r.answer, "text");
  if (!code.empty()) msg += ": " + code;
  throw Error(ErrorCode::bad_request, msg + " (the file does not compile: fix it and upload it again)",
              {{"file", text_of(r.answer, "file")}, {"line", line}});
}

namespace {

nlohmann::json steps_of(const ToolRun& r, const std::string& tool, const std::string& binary_name,
                        const std::string& fix) {
  if (!r.ran) throw Error(ErrorCode::internal, "cannot list steps: " + tool + " could not run (" + r.why + "): " + fix);
  if (!r.answer.value("ok", false)) {
    throw Error(ErrorCode::bad_request, text_of(r.answer, "message"), {{"binary", binary_name}});
  }
  const auto it = r.answer.find("steps");
  return it != r.answer.end() && it->is_array() ? *it : nlohmann::json::array();
}

}  // namespace

nlohmann::json list_python_steps(const LaunchConfig& config, const std::string& path, const std::string& type,
                                 const std::string& binary_name) {
  return steps_of(run_python_tool(config, {"steps", path, type, binary_name}), config.python + " sjs_tools.py",
                  binary_name, "set python.interpreter in sjsd.conf");
}

nlohmann::json list_jar_steps(const LaunchConfig& config, const std::string& path, const std::string& binary_name) {
  const std::string java = config.java.empty() ? "java" : config.java;
  return steps_of(run_tool({java, "-cp", config.runner_jar, "sjs.runner.StepList", path, binary_name}),
                  java + " sjs.runner.StepList", binary_name, "set jvm.java in sjsd.conf, or JAVA_HOME");
}

}  // namespace sjs

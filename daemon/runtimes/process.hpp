// Starting child processes for runtimes: posix_spawn in a new process group,
// with chosen descriptors as 0/1/2 (and optionally 3), every other descriptor
// closed, default signal dispositions, and a clean environment.
#pragma once

#include <string>
#include <vector>

#include <sys/types.h>

#include "runtimes/limits.hpp"

namespace sjs {

struct SpawnSpec {
  std::string path;                // executable (searched on PATH if it has no '/')
  std::vector<std::string> argv;   // argv[0] included
  std::vector<std::string> env;    // "K=V"; the whole environment
  std::string cwd;                 // "" = inherit
  int stdin_fd = -1;               // -1 = /dev/null
  int stdout_fd = -1;              // -1 = /dev/null
  int stderr_fd = -1;              // -1 = /dev/null
  int fd3 = -1;                    // becomes fd 3 in the child if >= 0
  ChildSetup limits;               // cgroups to join and rlimits to set before exec (limits.hpp)
};

// Returns the child's pid (it leads its own process group); throws Error
// (internal) saying what could not be started and why. With `limits`, fork and exec (posix_spawn has
// no step for joining a cgroup or setting an rlimit in the child), else posix_spawn.
pid_t spawn_process(const SpawnSpec& spec);

// sjsd raises its own open-files soft limit to the hard limit (at most 65536): every client
// connection and job log is a file descriptor. Processes it spawns get back the soft limit it started
// with (programs using select() expect the usual 1024).
void raise_open_files_limit();

// The daemon's environment without SJS_* variables, plus `extra`.
std::vector<std::string> child_environment(const std::vector<std::string>& extra);

// Opens a pidfd for `pid` (readable once it exits); -1 if the kernel has none.
int open_pidfd(pid_t pid);

// "exited with status 3" / "was killed by SIGKILL"
std::string describe_wait_status(int status);

}  // namespace sjs

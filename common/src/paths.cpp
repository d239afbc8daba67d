#include "sjs/paths.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sjs/errors.hpp"

namespace sjs {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

}  // namespace

std::string absolute_path(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  char buf[4096];
  if (!::getcwd(buf, sizeof buf)) return path;
  return std::string(buf) + "/" + path;
}

std::string parent_dir(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

void make_dirs(const std::string& path, unsigned mode) {
  if (path.empty()) return;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) throw Error(ErrorCode::bad_request, path + " exists and is not a directory");
    return;
  }
  std::string parent = parent_dir(path);
  if (parent != path && parent != "." && parent != "/") make_dirs(parent, mode);
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    throw Error(ErrorCode::internal, "cannot create directory " + path + ": " + std::strerror(errno));
  }
}

void check_socket_path(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) {
    throw Error(ErrorCode::bad_request, "socket path is " + std::to_string(path.size()) +
                                            " bytes, over the 107-byte limit of Unix sockets: " + path +
                                            " (set SJS_SOCKET or --socket to a shorter path)");
  }
}

Paths resolve_paths(const std::string& data_dir_flag, const std::string& socket_flag) {
  Paths p;
  bool explicit_data = true;
  if (!data_dir_flag.empty()) {
    p.data_dir = data_dir_flag;
  } else if (!env("SJS_HOME").empty()) {
    p.data_dir = env("SJS_HOME");
  } else {
    explicit_data = false;
    if (!env("XDG_DATA_HOME").empty()) {
      p.data_dir = env("XDG_DATA_HOME") + "/sjs";
    } else if (!env("HOME").empty()) {
      p.data_dir = env("HOME") + "/.local/share/sjs";
    } else {
      p.data_dir = "/tmp/sjs-" + std::to_string(::getuid()) + "/data";
    }
  }
  p.data_dir = absolute_path(p.data_dir);

  if (!socket_flag.empty()) {
    p.socket = socket_flag;
  } else if (!env("SJS_SOCKET").empty()) {
    p.socket = env("SJS_SOCKET");
  } else if (explicit_data) {
    p.socket = p.data_dir + "/sjsd.sock";
  } else if (!env("XDG_RUNTIME_DIR").empty()) {
    p.socket = env("XDG_RUNTIME_DIR") + "/sjs/sjsd.sock";
  } else {
    p.socket = "/tmp/sjs-" + std::to_string(::getuid()) + "/sjsd.sock";
  }
  p.socket = absolute_path(p.socket);
  return p;
}

}  // namespace sjs

// Where the daemon keeps its data and its socket. Shared by sjs and sjsd so the
// two always agree.
#pragma once

#include <string>

namespace sjs {

struct Paths {
  std::string data_dir;
  std::string socket;
};

// Resolution order (docs/ARCHITECTURE.md, "Paths"):
//   data dir: flag, $SJS_HOME, $XDG_DATA_HOME/sjs, $HOME/.local/share/sjs
//   socket:   flag, $SJS_SOCKET, <data dir>/sjsd.sock when the data dir was given
//             by flag or $SJS_HOME, $XDG_RUNTIME_DIR/sjs/sjsd.sock, /tmp/sjs-<uid>/sjsd.sock
// Relative paths are made absolute. Empty flags mean "not given".
Paths resolve_paths(const std::string& data_dir_flag, const std::string& socket_flag);

// Unix socket paths are limited to 107 bytes; throws Error(bad_request) past that.
void check_socket_path(const std::string& path);

std::string absolute_path(const std::string& path);
std::string parent_dir(const std::string& path);
// mkdir -p with the given mode for directories it creates; throws Error(internal).
void make_dirs(const std::string& path, unsigned mode);

}  // namespace sjs

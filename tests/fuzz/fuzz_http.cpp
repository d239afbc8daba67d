// The HTTP front end: raw request bytes through the real server code (Beast parsing, limits,
// authentication, every route, uploads streamed to files) on the in-process daemon.
//
// The first byte picks the server: even, the open one; odd, the one with users (user "fuzz" with
// every permission, bearer token FuzzDaemon::k_token or Basic fuzz:fuzz-password; "reader" may
// only read). The rest is sent as is on a fresh connection whose sending side is then closed.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "fuzz_daemon.hpp"

using sjs::fuzz::FuzzDaemon;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static unsigned long runs = 0;
  if (size == 0) return 0;
  auto& daemon = FuzzDaemon::get();
  const unsigned short port = (data[0] & 1) ? daemon.http_auth_port() : daemon.http_port();
  sjs::fuzz::exchange_tcp(port, std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  if (++runs % 500 == 0 && !daemon.healthy()) {
    std::fprintf(stderr, "sjs fuzz: the daemon stopped answering daemon.status\n");
    std::abort();
  }
  return 0;
}

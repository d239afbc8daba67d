// An in-process sjsd for the fuzz targets: the real Service on a temp store, the real Unix-socket
// server and the real HTTP front end (one open, one with users), on an io thread of their own.
// Only the runtimes are stand-ins: a fuzzed request may ask for any command, so jobs "run" in an
// InstantRuntime that ends them at once without starting a process. Inputs reach the servers
// through real sockets, as a client's bytes would.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sjs::fuzz {

class FuzzDaemon {
 public:
  // The one instance, started on first use and torn down (temp dir removed) at exit.
  static FuzzDaemon& get();

  const std::string& socket_path() const { return m_socket; }
  unsigned short http_port() const { return m_http_port; }
  unsigned short http_auth_port() const { return m_http_auth_port; }
  // Credentials the HTTP server with users accepts (user "fuzz", every permission).
  static constexpr const char* k_token = "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f";
  static constexpr const char* k_password = "fuzz-password";

  // Whether the daemon is still alive and serving (a request answered over the socket).
  bool healthy();

  struct Impl;

 private:
  FuzzDaemon();
  std::string m_socket;
  unsigned short m_http_port = 0;
  unsigned short m_http_auth_port = 0;
  Impl* m_impl = nullptr;
};

// Sends `bytes` on a new connection, closes the sending side, and reads until the peer closes or
// `timeout_ms` passes. Returns what was read.
std::string exchange_unix(const std::string& path, std::string_view bytes, int timeout_ms = 3000);
std::string exchange_tcp(unsigned short port, std::string_view bytes, int timeout_ms = 3000);

}  // namespace sjs::fuzz

// The client protocol (docs/protocol.md) through the real Unix-socket server and dispatcher on a
// temp store: framing, the request envelope, and every op's argument decoding and handling.
//
// An input that starts with '{' is taken as requests, one JSON payload per line, each sent in
// its own frame (so the fuzzer reaches the ops quickly); any other input is sent as raw bytes
// (the frame decoder: lengths, truncation, garbage). Either way on a fresh connection whose
// sending side is then closed: answers pending at that moment must be dropped cleanly.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_daemon.hpp"
#include "sjs/framing.hpp"

using sjs::fuzz::FuzzDaemon;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static unsigned long runs = 0;
  auto& daemon = FuzzDaemon::get();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string bytes;
  if (!input.empty() && input.front() == '{') {
    std::size_t start = 0;
    while (start <= input.size()) {
      std::size_t end = input.find('\n', start);
      if (end == std::string_view::npos) end = input.size();
      if (end > start) bytes += sjs::encode_frame(input.substr(start, end - start));
      start = end + 1;
    }
  } else {
    bytes.assign(input);
  }
  sjs::fuzz::exchange_unix(daemon.socket_path(), bytes);
  // Now and then: the daemon must still answer (a stuck core thread is a finding too).
  if (++runs % 500 == 0 && !daemon.healthy()) {
    std::fprintf(stderr, "sjs fuzz: the daemon stopped answering daemon.status\n");
    std::abort();
  }
  return 0;
}

// sjsd.conf: its text (HOCON or JSON) through parse_config_text and DaemonConfig::apply, as sjsd
// reads it at start. Oracle: bad input throws sjs::Error (naming the key) and nothing else.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config.hpp"
#include "sjs/config.hpp"
#include "sjs/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    sjs::DaemonConfig config;
    config.apply(sjs::parse_config_text(text, "sjsd.conf"), "sjsd.conf");
  } catch (const sjs::Error&) {
  }
  return 0;
}

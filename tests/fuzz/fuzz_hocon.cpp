// The HOCON parser (job configs, sjsd.conf, context settings) and parse_config_text.
// Oracle: bad input throws HoconError (parse_hocon, parse_form_config) or sjs::Error
// (parse_config_text) and nothing else; what parses can be written back as
// JSON (which is HOCON) and reads back the same.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sjs/config.hpp"
#include "sjs/errors.hpp"
#include "sjs/hocon.hpp"

namespace {

void round_trip(const nlohmann::json& value, const char* what) {
  const std::string text = value.dump();  // throws on invalid UTF-8 in a string: a finding
  nlohmann::json again;
  try {
    again = sjs::parse_hocon(text);
  } catch (const sjs::HoconError& e) {
    std::fprintf(stderr, "%s: its own JSON does not parse back: %s\n%s\n", what, e.what(), text.c_str());
    std::abort();
  }
  if (again != value) {
    std::fprintf(stderr, "%s: round trip differs:\n%s\n%s\n", what, text.c_str(), again.dump().c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    round_trip(sjs::parse_hocon(text), "parse_hocon");
  } catch (const sjs::HoconError&) {
  }
  try {
    round_trip(sjs::parse_form_config(text), "parse_form_config");
  } catch (const sjs::HoconError&) {
  }
  try {
    round_trip(sjs::parse_config_text(text, "fuzz.conf"), "parse_config_text");
  } catch (const sjs::Error&) {
  }
  return 0;
}

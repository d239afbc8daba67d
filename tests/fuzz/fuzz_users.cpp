// The HTTP users file (http.users-file; edited by `sjs user`, read by sjsd).
// Oracle: bad input throws sjs::Error and nothing else; what parses is written back by
// dump_users and reads back the same.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/users.hpp"
#include "sjs/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  sjs::users::UsersFile file;
  try {
    file = sjs::users::parse_users(text, "users.json");
  } catch (const sjs::Error&) {
    return 0;
  }
  const std::string once = sjs::users::dump_users(file);
  std::string twice;
  try {
    twice = sjs::users::dump_users(sjs::users::parse_users(once, "users.json (written back)"));
  } catch (const sjs::Error& e) {
    std::fprintf(stderr, "a users file sjs wrote does not read back: %s\n%s\n", e.what(), once.c_str());
    std::abort();
  }
  if (once != twice) {
    std::fprintf(stderr, "users file round trip differs:\n%s\n%s\n", once.c_str(), twice.c_str());
    std::abort();
  }
  return 0;
}

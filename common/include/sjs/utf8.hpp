// UTF-8 validity, for text that comes from outside (HTTP targets and headers, config files) before
// it goes into JSON: nlohmann's dump() throws on invalid UTF-8, so text is checked where it enters.
#pragma once

#include <cstddef>
#include <string_view>

namespace sjs {

// Offset of the first byte that does not start a valid UTF-8 sequence (overlong forms, surrogates
// and code points past U+10FFFF included), or std::string_view::npos when `s` is valid UTF-8.
// Implemented in hocon.cpp, the first parser that needed it.
std::size_t find_invalid_utf8(std::string_view s);

}  // namespace sjs

// A HOCON parser producing nlohmann::json, plus the form-encoded config format
// that spark-jobserver clients may send instead (`a=1&b.c=x%20y`).
//
// Supported HOCON subset: root object with or without braces; `=`, `:` or no
// separator before `{`; unquoted, quoted and dotted keys (dots make paths);
// merging of duplicate object keys; newline or comma separators with trailing
// commas; quoted, triple-quoted and unquoted strings; value concatenation
// (`a b c`); numbers, true/false/null; objects; arrays; `#` and `//` comments.
// Substitutions (`${...}`), `include` and `+=` are rejected with HoconError.
//
// Any byte sequence either parses or throws HoconError: input must be valid
// UTF-8, and nesting (brackets plus dotted key paths) is capped at 256 levels.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sjs {

// A syntax error. what() is "line L, column C: msg"; `line` and `column` are
// 1-based, and the column counts bytes from the start of the line.
struct HoconError : std::runtime_error {
  HoconError(const std::string& msg, int line_number, int column_number);
  int line;
  int column;
};

// Parses a HOCON document (or plain JSON, which is valid HOCON) into a JSON
// object. Empty input (or only whitespace and comments) gives `{}`.
nlohmann::json parse_hocon(std::string_view text);

// Parses application/x-www-form-urlencoded text ("a=1&b.c=x%20y"; '+' is a
// space) into a JSON object. Dotted keys become nested objects; values are typed
// like HOCON unquoted values (numbers, true/false/null; everything else stays a
// string). A pair without '=' gets the empty string. Throws HoconError (line 1,
// column = byte offset + 1) on bad percent-escapes, empty key segments and
// invalid UTF-8.
nlohmann::json parse_form_config(std::string_view text);

// Heuristic: true if `text` looks form-encoded rather than HOCON, i.e. it
// contains '=', no newline, '{' or ':', no whitespace right before or after any
// '=', and either contains '&' or is a single key=value pair.
bool looks_form_encoded(std::string_view text);

}  // namespace sjs

#include "sjs/hocon.hpp"
#include "sjs/utf8.hpp"

#include "sjs/config.hpp"

#include <charconv>
#include <algorithm>
#include <climits>
#include <cstdint>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

namespace sjs {

namespace {

int clamp_to_int(std::size_t value) {
  return value > static_cast<std::size_t>(INT_MAX) ? INT_MAX : static_cast<int>(value);
}

}  // namespace

HoconError::HoconError(const std::string& msg, int line_number, int column_number)
    : std::runtime_error("line " + std::to_string(line_number) + ", column " + std::to_string(column_number) + ": " +
                         msg),
      line(line_number),
      column(column_number) {}

namespace {

using Json = nlohmann::json;
using Path = std::vector<std::string>;

constexpr std::size_t k_npos = std::string_view::npos;
constexpr std::size_t k_max_depth = 256;
constexpr std::size_t k_max_quoted_in_message = 64;
constexpr std::string_view k_forbidden_unquoted = "$\"{}[]:=,+#`^?!@*&\\";
constexpr std::string_view k_reserved_hint_chars = "`^?!@*&\\+$";
constexpr std::string_view k_substitution_error = "substitutions (${...}) are not supported";
constexpr std::string_view k_nesting_error = "nesting deeper than 256";
// A key (its whole dotted path) longer than this is refused: no config needs one, and every error
// message and stored copy would carry it.
constexpr std::size_t k_max_key_bytes = 4096;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_hex_digit(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// Whitespace that does not end a line. '\r' counts, so "\r\n" is a newline.
bool is_inline_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

std::string hex_byte(unsigned char c) {
  constexpr std::string_view k_digits = "0123456789ABCDEF";
  std::string out = "0x";
  out += k_digits[c >> 4];
  out += k_digits[c & 0xF];
  return out;
}

// Length of the UTF-8 sequence starting with `lead` (1 for ASCII and for bytes
// that cannot start a sequence).
std::size_t utf8_length(unsigned char lead) {
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  return 1;
}

}  // namespace

std::size_t find_invalid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = utf8_length(c);
    if (len == 1 || i + len > s.size()) return i;
    auto c1 = static_cast<unsigned char>(s[i + 1]);
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F)) {
      return i;
    }
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return i;
    }
    i += len;
  }
  return k_npos;
}

namespace {

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// `s` in double quotes for an error message: escaped, and cut after about
// k_max_quoted_in_message bytes (at a character boundary).
std::string quote_for_message(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (out.size() > k_max_quoted_in_message && (c & 0xC0) != 0x80) {
      out += "...";
      break;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      out += "\\x" + hex_byte(c).substr(2);
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

std::string join_path(const Path& path) {
  std::string out;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (i > 0) out += '.';
    out += path[i];
  }
  return out;
}

// Length of the JSON number starting at `pos` ("-?int(.frac)?(e[+-]?exp)?"), or 0.
std::size_t match_number(std::string_view s, std::size_t pos) {
  std::size_t i = pos;
  const std::size_t n = s.size();
  if (i < n && s[i] == '-') ++i;
  if (i >= n || !is_digit(s[i])) return 0;
  if (s[i] == '0') {
    ++i;
  } else {
    while (i < n && is_digit(s[i])) ++i;
  }
  if (i + 1 < n && s[i] == '.' && is_digit(s[i + 1])) {
    i += 2;
    while (i < n && is_digit(s[i])) ++i;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    std::size_t j = i + 1;
    if (j < n && (s[j] == '+' || s[j] == '-')) ++j;
    if (j < n && is_digit(s[j])) {
      while (j < n && is_digit(s[j])) ++j;
      i = j;
    }
  }
  return i - pos;
}

// For a JSON number that does not fit a double: true if it is too small (it
// rounds to zero), false if it is too large.
bool is_underflow(std::string_view s) {
  std::size_t i = s[0] == '-' ? 1 : 0;
  // Decimal exponent of the first significant digit, ignoring the 'e' part.
  long long magnitude = 0;
  std::size_t int_start = i;
  while (i < s.size() && is_digit(s[i])) ++i;
  if (s[int_start] != '0') {
    magnitude = static_cast<long long>(i - int_start) - 1;
  } else if (i < s.size() && s[i] == '.') {
    std::size_t zeros = 0;
    ++i;
    while (i < s.size() && s[i] == '0') {
      ++zeros;
      ++i;
    }
    magnitude = -static_cast<long long>(zeros) - 1;
  }
  std::size_t e = s.find_first_of("eE");
  long long exponent = 0;
  if (e != k_npos) {
    std::size_t j = e + 1;
    bool negative = j < s.size() && s[j] == '-';
    if (j < s.size() && (s[j] == '-' || s[j] == '+')) ++j;
    for (; j < s.size() && exponent < 1000000000LL; ++j) exponent = exponent * 10 + (s[j] - '0');
    if (negative) exponent = -exponent;
  }
  if (magnitude > 1000000000LL) magnitude = 1000000000LL;
  if (magnitude < -1000000000LL) magnitude = -1000000000LL;
  return magnitude + exponent < 0;
}

// Converts a complete JSON number; nullopt if it is too large for a double.
std::optional<Json> to_number(std::string_view s) {
  const char* first = s.data();
  const char* last = s.data() + s.size();
  if (s.find_first_of(".eE") == k_npos) {
    std::int64_t signed_value = 0;
    auto [end, ec] = std::from_chars(first, last, signed_value);
    if (ec == std::errc() && end == last) return Json(signed_value);
    if (s[0] != '-') {
      std::uint64_t unsigned_value = 0;
      auto [uend, uec] = std::from_chars(first, last, unsigned_value);
      if (uec == std::errc() && uend == last) return Json(unsigned_value);
    }
  }
  double value = 0;
  auto [end, ec] = std::from_chars(first, last, value);
  if (ec == std::errc() && end == last) return Json(value);
  if (ec == std::errc::result_out_of_range && is_underflow(s)) return Json(s[0] == '-' ? -0.0 : 0.0);
  return std::nullopt;
}

// Types an unquoted value: true/false/null, a number, or else a string.
Json typed_scalar(std::string_view s) {
  if (s == "true") return Json(true);
  if (s == "false") return Json(false);
  if (s == "null") return Json(nullptr);
  if (!s.empty() && match_number(s, 0) == s.size()) {
    if (auto number = to_number(s)) return std::move(*number);
  }
  return Json(std::string(s));
}

// Sets root[path[0]]...[path[n-1]] = value with HOCON duplicate-key rules: if
// both the old and the new value are objects they merge, otherwise the new
// value wins (non-objects on the way are replaced by objects).
void set_path(Json& root, const Path& path, Json&& value) {
  Json* current = &root;
  for (std::size_t i = 0; i + 1 < path.size(); ++i) {
    Json& child = (*current)[path[i]];
    if (!child.is_object()) child = Json::object();
    current = &child;
  }
  Json& slot = (*current)[path.back()];
  if (slot.is_object() && value.is_object()) {
    merge_config(slot, std::move(value));
  } else {
    slot = std::move(value);
  }
}

class Parser {
 public:
  explicit Parser(std::string_view text) : m_text(text) {}

  Json parse_document() {
    std::size_t bad = find_invalid_utf8(m_text);
    if (bad != k_npos) fail("invalid UTF-8 (byte " + hex_byte(static_cast<unsigned char>(m_text[bad])) + ")", bad);
    if (m_text.substr(0, 3) == "\xEF\xBB\xBF") m_pos = 3;
    skip_space_and_comments();
    if (at_end()) return Json::object();
    if (peek() == '[') fail("the root of a document must be an object, not an array", m_pos);
    if (peek() == '{') {
      Json root = parse_braced_object(1);
      skip_space_and_comments();
      if (!at_end()) fail("unexpected " + describe(m_pos) + " after root object", m_pos);
      return root;
    }
    Json root = Json::object();
    parse_fields(root, 1, false, 0);
    return root;
  }

 private:
  std::string_view m_text;
  std::size_t m_pos = 0;

  bool at_end() const { return m_pos >= m_text.size(); }

  // The byte `ahead` bytes from the current position, '\0' past the end (input
  // may contain NUL bytes, so only compare the result against other bytes).
  char peek(std::size_t ahead = 0) const {
    std::size_t i = m_pos + ahead;
    return i < m_text.size() ? m_text[i] : '\0';
  }

  std::pair<int, int> line_column(std::size_t pos) const {
    std::size_t line = 1;
    std::size_t column = 1;
    for (std::size_t i = 0; i < pos && i < m_text.size(); ++i) {
      if (m_text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    return {clamp_to_int(line), clamp_to_int(column)};
  }

  std::string position_text(std::size_t pos) const {
    auto [line, column] = line_column(pos);
    return "line " + std::to_string(line) + ", column " + std::to_string(column);
  }

  [[noreturn]] void fail(std::string_view msg, std::size_t pos) const {
    auto [line, column] = line_column(pos);
    throw HoconError(std::string(msg), line, column);
  }

  // A human description of the character at `pos` for "found X" messages.
  std::string describe(std::size_t pos) const {
    if (pos >= m_text.size()) return "end of input";
    auto c = static_cast<unsigned char>(m_text[pos]);
    if (c == '\n') return "newline";
    if (c == '\t') return "tab";
    if (c >= 0x20 && c < 0x7F) return std::string("'") + static_cast<char>(c) + "'";
    if (c >= 0x80) {
      std::size_t len = utf8_length(c);
      if (len > 1 && pos + len <= m_text.size()) return "'" + std::string(m_text.substr(pos, len)) + "'";
      return "byte " + hex_byte(c);
    }
    return "control character " + hex_byte(c);
  }

  // describe() plus, for characters reserved in unquoted strings, a hint.
  std::string describe_with_hint(std::size_t pos) const {
    std::string out = describe(pos);
    if (pos < m_text.size() && k_reserved_hint_chars.find(m_text[pos]) != k_npos) {
      out += " (reserved in unquoted strings; quote the value)";
    }
    return out;
  }

  bool is_comment_start(std::size_t pos) const {
    if (pos >= m_text.size()) return false;
    return m_text[pos] == '#' || (m_text[pos] == '/' && pos + 1 < m_text.size() && m_text[pos + 1] == '/');
  }

  bool is_substitution_at(std::size_t pos) const {
    return pos + 1 < m_text.size() && m_text[pos] == '$' && m_text[pos + 1] == '{';
  }

  // True if the byte at `pos` may appear in an unquoted string or key.
  bool is_unquoted_char_at(std::size_t pos) const {
    if (pos >= m_text.size()) return false;
    auto c = static_cast<unsigned char>(m_text[pos]);
    if (c <= 0x20 || c == 0x7F) return false;
    if (k_forbidden_unquoted.find(static_cast<char>(c)) != k_npos) return false;
    if (c == '/' && pos + 1 < m_text.size() && m_text[pos + 1] == '/') return false;
    return true;
  }

  bool starts_value_token(std::size_t pos) const {
    return pos < m_text.size() && (m_text[pos] == '"' || is_substitution_at(pos) || is_unquoted_char_at(pos));
  }

  void skip_inline_space() {
    while (!at_end() && is_inline_space(m_text[m_pos])) ++m_pos;
  }

  // Skips whitespace, newlines and comments; true if a newline was crossed.
  bool skip_space_and_comments() {
    bool newline = false;
    while (!at_end()) {
      char c = m_text[m_pos];
      if (is_inline_space(c)) {
        ++m_pos;
      } else if (c == '\n') {
        newline = true;
        ++m_pos;
      } else if (is_comment_start(m_pos)) {
        while (!at_end() && m_text[m_pos] != '\n') ++m_pos;
      } else {
        break;
      }
    }
    return newline;
  }

  Json parse_braced_object(std::size_t depth) {
    std::size_t open = m_pos;
    if (depth > k_max_depth) fail(k_nesting_error, open);
    ++m_pos;
    Json object = Json::object();
    parse_fields(object, depth, true, open);
    return object;
  }

  // Parses fields into `object` until '}' (braced) or the end of input.
  void parse_fields(Json& object, std::size_t depth, bool braced, std::size_t open) {
    for (;;) {
      skip_space_and_comments();
      if (at_end()) {
        if (braced) fail("unterminated object (opened at " + position_text(open) + ")", m_pos);
        return;
      }
      char c = peek();
      if (c == '}') {
        if (!braced) fail("unexpected '}'", m_pos);
        ++m_pos;
        return;
      }
      if (c == ',') fail("unexpected ','", m_pos);
      std::string key = parse_field(object, depth);
      bool newline = skip_space_and_comments();
      if (!at_end() && peek() == ',') {
        ++m_pos;
        continue;
      }
      if (at_end() || peek() == '}' || newline) continue;
      fail("expected ',' or newline after value of key " + key + ", found " + describe_with_hint(m_pos), m_pos);
    }
  }

  void reject_include() const {
    if (m_text.substr(m_pos, 7) != "include") return;
    std::size_t i = m_pos + 7;
    if (i >= m_text.size() || (m_text[i] != ' ' && m_text[i] != '\t')) return;
    while (i < m_text.size() && (m_text[i] == ' ' || m_text[i] == '\t')) ++i;
    std::string_view rest = m_text.substr(i);
    for (std::string_view form : {"\"", "file(", "url(", "classpath(", "required("}) {
      if (rest.substr(0, form.size()) == form) fail("include is not supported", m_pos);
    }
  }

  // Parses `key = value` (or `key { ... }`) and stores it; returns the key,
  // quoted for messages.
  std::string parse_field(Json& object, std::size_t depth) {
    std::size_t key_pos = m_pos;
    reject_include();
    Path path = parse_key();
    std::string key = quote_for_message(join_path(path));
    // Objects implied by the path sit at depth+1 .. depth+path.size()-1.
    std::size_t value_base = depth + path.size() - 1;
    if (value_base > k_max_depth) fail(k_nesting_error, key_pos);
    std::size_t key_bytes = 0;
    for (const auto& part : path) key_bytes += part.size() + 1;
    if (key_bytes > k_max_key_bytes + 1) {
      fail("a key of " + std::to_string(key_bytes - 1) + " bytes: keys are at most " + std::to_string(k_max_key_bytes) +
               " bytes",
           key_pos);
    }
    skip_inline_space();
    const std::size_t after_key = m_pos;
    const bool newline = skip_space_and_comments();
    Json value;
    char c = peek();
    if (!at_end() && c == '{') {
      value = parse_braced_object(value_base + 1);
    } else if (!at_end() && (c == '=' || c == ':')) {
      ++m_pos;
      skip_space_and_comments();
      value = parse_value(value_base, "for key " + key);
    } else if (c == '+' && peek(1) == '=') {
      fail("'+=' is not supported (key " + key + ")", m_pos);
    } else if (newline) {
      fail("expected '=' or ':' after key " + key + ", found end of line", after_key);
    } else {
      fail("expected '=' or ':' after key " + key + ", found " + describe_with_hint(m_pos), m_pos);
    }
    set_path(object, path, std::move(value));
    return key;
  }

  // A path expression: unquoted and quoted pieces; unquoted dots split it.
  Path parse_key() {
    Path path;
    std::string current;
    bool has_content = false;
    const std::size_t start = m_pos;
    while (!at_end()) {
      char c = peek();
      if (c == '"') {
        current += parse_quoted();
        has_content = true;
      } else if (c == '.') {
        if (!has_content) fail("empty path element in key", m_pos);
        path.push_back(std::move(current));
        current.clear();
        has_content = false;
        ++m_pos;
      } else if (is_substitution_at(m_pos)) {
        fail(k_substitution_error, m_pos);
      } else if (is_unquoted_char_at(m_pos)) {
        std::size_t run = m_pos;
        while (!at_end() && peek() != '.' && is_unquoted_char_at(m_pos)) ++m_pos;
        current.append(m_text.substr(run, m_pos - run));
        has_content = true;
      } else if (has_content && (c == ' ' || c == '\t')) {
        // Whitespace inside a key ("foo bar = 1") is kept when more follows.
        std::size_t space = m_pos;
        skip_inline_space();
        if (!at_end() && peek() != '.' && (peek() == '"' || is_unquoted_char_at(m_pos))) {
          current.append(m_text.substr(space, m_pos - space));
        } else {
          break;
        }
      } else {
        break;
      }
    }
    if (!has_content) {
      if (path.empty() && m_pos == start) {
        char c = peek();
        if (!at_end() && (c == '}' || c == ']')) fail(std::string("unexpected '") + c + "'", m_pos);
        fail("expected key, found " + describe_with_hint(m_pos), m_pos);
      }
      fail("empty path element in key", m_pos);
    }
    path.push_back(std::move(current));
    return path;
  }

  // A value whose container (if any) would sit at depth base_depth + 1.
  Json parse_value(std::size_t base_depth, const std::string& context) {
    char c = peek();
    if (!at_end() && c == '{') return parse_braced_object(base_depth + 1);
    if (!at_end() && c == '[') return parse_array(base_depth + 1);
    if (is_substitution_at(m_pos)) fail(k_substitution_error, m_pos);
    if (starts_value_token(m_pos)) return parse_concatenation();
    fail("expected value " + context + ", found " + describe_with_hint(m_pos), m_pos);
  }

  Json parse_array(std::size_t depth) {
    std::size_t open = m_pos;
    if (depth > k_max_depth) fail(k_nesting_error, open);
    ++m_pos;
    Json array = Json::array();
    for (;;) {
      skip_space_and_comments();
      if (at_end()) fail("unterminated array (opened at " + position_text(open) + ")", m_pos);
      char c = peek();
      if (c == ']') {
        ++m_pos;
        return array;
      }
      if (c == ',') fail("unexpected ','", m_pos);
      array.push_back(parse_value(depth, "in array"));
      bool newline = skip_space_and_comments();
      if (!at_end() && peek() == ',') {
        ++m_pos;
        continue;
      }
      if (at_end() || peek() == ']' || newline) continue;
      fail("expected ',' or ']' after array element, found " + describe_with_hint(m_pos), m_pos);
    }
  }

  // Quoted and unquoted tokens on one line; the whitespace between them is kept.
  // A lone unquoted token is typed (number, true/false/null).
  Json parse_concatenation() {
    std::string text;
    std::size_t tokens = 0;
    bool first_unquoted = false;
    for (;;) {
      if (is_substitution_at(m_pos)) fail(k_substitution_error, m_pos);
      if (peek() == '"' && !at_end()) {
        text += parse_quoted();
        if (tokens == 0) first_unquoted = false;
      } else if (is_unquoted_char_at(m_pos)) {
        text += read_unquoted_token();
        if (tokens == 0) first_unquoted = true;
      } else {
        break;
      }
      ++tokens;
      std::size_t space = m_pos;
      skip_inline_space();
      if (!starts_value_token(m_pos)) break;
      text.append(m_text.substr(space, m_pos - space));
    }
    if (tokens == 1 && first_unquoted) return typed_scalar(text);
    return Json(std::move(text));
  }

  std::string_view read_unquoted_token() {
    std::size_t start = m_pos;
    // A number may contain '+' ("1e+5"), which unquoted strings may not.
    std::size_t number = match_number(m_text, m_pos);
    if (number > 0 && !is_unquoted_char_at(m_pos + number)) {
      m_pos += number;
    } else {
      while (is_unquoted_char_at(m_pos)) ++m_pos;
    }
    return m_text.substr(start, m_pos - start);
  }

  std::string parse_quoted() {
    if (peek(1) == '"' && peek(2) == '"') return parse_triple_quoted();
    const std::size_t open = m_pos;
    ++m_pos;
    std::string out;
    for (;;) {
      if (at_end()) fail("unterminated string", open);
      char c = m_text[m_pos];
      if (c == '"') {
        ++m_pos;
        return out;
      }
      if (c == '\n' || c == '\r') fail("unterminated string", open);
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
        fail("invalid " + describe(m_pos) + " in string", m_pos);
      }
      if (c != '\\') {
        out += c;
        ++m_pos;
        continue;
      }
      const std::size_t escape = m_pos;
      ++m_pos;
      if (at_end()) fail("unterminated string", open);
      char e = m_text[m_pos++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': append_utf8(out, read_unicode_escape(escape)); break;
        default:
          if (e == '\n' || e == '\r') fail("unterminated string", open);
          if (e > 0x20 && e < 0x7F) fail(std::string("invalid escape sequence '\\") + e + "' in string", escape);
          fail("invalid escape sequence: backslash followed by " + describe(m_pos - 1), escape);
      }
    }
  }

  // After "\u": four hex digits, combining a surrogate pair into one code point.
  std::uint32_t read_unicode_escape(std::size_t escape) {
    std::uint32_t unit = read_hex4(escape);
    if (unit >= 0xDC00 && unit <= 0xDFFF) fail("invalid \\u escape: unpaired low surrogate", escape);
    if (unit < 0xD800 || unit > 0xDBFF) return unit;
    if (peek() != '\\' || peek(1) != 'u') fail("invalid \\u escape: unpaired high surrogate", escape);
    const std::size_t second = m_pos;
    m_pos += 2;
    std::uint32_t low = read_hex4(second);
    if (low < 0xDC00 || low > 0xDFFF) fail("invalid \\u escape: unpaired high surrogate", escape);
    return 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
  }

  std::uint32_t read_hex4(std::size_t escape) {
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      if (at_end() || !is_hex_digit(m_text[m_pos])) fail("invalid \\u escape: expected 4 hex digits", escape);
      value = value * 16 + static_cast<std::uint32_t>(hex_value(m_text[m_pos]));
      ++m_pos;
    }
    return value;
  }

  // """raw""": no escapes, newlines allowed; extra closing quotes belong to the
  // string ("""a"""" is `a"`).
  std::string parse_triple_quoted() {
    const std::size_t open = m_pos;
    m_pos += 3;
    std::size_t close = m_text.find("\"\"\"", m_pos);
    if (close == k_npos) fail("unterminated triple-quoted string", open);
    while (close + 3 < m_text.size() && m_text[close + 3] == '"') ++close;
    std::string out(m_text.substr(m_pos, close - m_pos));
    m_pos = close + 3;
    return out;
  }
};

[[noreturn]] void form_fail(const std::string& msg, std::size_t offset) {
  throw HoconError(msg, 1, clamp_to_int(offset + 1));
}

// Decodes text[begin, end): '+' is a space, %XX a byte.
std::string percent_decode(std::string_view text, std::size_t begin, std::size_t end) {
  std::string out;
  out.reserve(end - begin);
  for (std::size_t i = begin; i < end; ++i) {
    char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c != '%') {
      out += c;
    } else if (i + 2 < end && is_hex_digit(text[i + 1]) && is_hex_digit(text[i + 2])) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      std::size_t shown = std::min<std::size_t>(3, end - i);
      form_fail("invalid percent-escape " + quote_for_message(text.substr(i, shown)) +
                    " (expected '%' followed by two hex digits)",
                i);
    }
  }
  return out;
}

void parse_form_pair(Json& root, std::string_view text, std::size_t begin, std::size_t end) {
  std::size_t eq = text.find('=', begin);
  if (eq == k_npos || eq > end) eq = end;
  std::string key = percent_decode(text, begin, eq);
  std::string value = eq < end ? percent_decode(text, eq + 1, end) : std::string();
  if (find_invalid_utf8(key) != k_npos) form_fail("invalid UTF-8 in form key", begin);
  if (find_invalid_utf8(value) != k_npos) {
    form_fail("invalid UTF-8 in form value of key " + quote_for_message(key), eq + 1);
  }
  Path path;
  std::size_t start = 0;
  for (;;) {
    std::size_t dot = key.find('.', start);
    std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty()) form_fail("empty path element in form key " + quote_for_message(key), begin);
    path.push_back(std::move(part));
    if (path.size() > k_max_depth) form_fail(std::string(k_nesting_error), begin);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  set_path(root, path, typed_scalar(value));
}

}  // namespace

nlohmann::json parse_hocon(std::string_view text) {
  try {
    Parser parser(text);
    return parser.parse_document();
  } catch (const HoconError&) {
    throw;
  } catch (const std::exception& e) {
    // nlohmann exceptions or bad_alloc: never let another type escape.
    throw HoconError(std::string("internal error: ") + e.what(), 1, 1);
  }
}

nlohmann::json parse_form_config(std::string_view text) {
  try {
    Json root = Json::object();
    std::size_t begin = 0;
    while (begin <= text.size()) {
      std::size_t amp = text.find('&', begin);
      if (amp == k_npos) amp = text.size();
      if (amp > begin) parse_form_pair(root, text, begin, amp);
      begin = amp + 1;
    }
    return root;
  } catch (const HoconError&) {
    throw;
  } catch (const std::exception& e) {
    throw HoconError(std::string("internal error: ") + e.what(), 1, 1);
  }
}

bool looks_form_encoded(std::string_view text) {
  if (text.find_first_of("\n\r{:") != k_npos) return false;
  std::size_t equals = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '=') continue;
    ++equals;
    if (i > 0 && is_inline_space(text[i - 1])) return false;
    if (i + 1 < text.size() && is_inline_space(text[i + 1])) return false;
  }
  if (equals == 0) return false;
  return text.find('&') != k_npos || equals == 1;
}

}  // namespace sjs

#include "sjs/config.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "sjs/errors.hpp"
#include "sjs/hocon.hpp"
#include "sjs/util.hpp"

namespace sjs {

nlohmann::json parse_config_text(std::string_view text, const std::string& origin) {
  auto first = std::find_if(text.begin(), text.end(), [](char c) { return !std::isspace(static_cast<unsigned char>(c)); });
  if (first != text.end() && *first == '{') {
    check_json_nesting(text, origin);
    auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
    if (!j.is_discarded() && j.is_object()) return j;
  }
  try {
    return parse_hocon(text);
  } catch (const HoconError& e) {
    throw Error(ErrorCode::bad_request, origin + ": " + e.what());
  }
}

void apply_conf_pair(nlohmann::json& config, std::string_view pair, std::string_view flag) {
  auto eq = pair.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    throw Error(ErrorCode::bad_request, std::string(flag) + " \"" + std::string(pair) + "\" is not of the form key=value");
  }
  nlohmann::json parsed;
  try {
    // Quote the key so that anything but dots is taken literally, then let the
    // HOCON parser type the value.
    // HOCON's own spacing around '=' ("input.string = a b c") is not part of the key.
    const auto is_space = [](char c) { return c == ' ' || c == '\t'; };
    std::string_view k = pair.substr(0, eq);
    while (!k.empty() && is_space(k.back())) k.remove_suffix(1);
    while (!k.empty() && is_space(k.front())) k.remove_prefix(1);
    if (k.empty()) throw HoconError("no key before '='", 1, 1);
    std::string key(k);
    std::string value(pair.substr(eq + 1));
    while (!value.empty() && is_space(value.front())) value.erase(0, 1);
    std::string quoted_key;
    std::size_t start = 0;
    for (;;) {
      auto dot = key.find('.', start);
      std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (part.empty()) throw HoconError("empty key segment in \"" + key + "\"", 1, static_cast<int>(start) + 1);
      if (!quoted_key.empty()) quoted_key += '.';
      quoted_key += nlohmann::json(part).dump();
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    if (value.empty()) value = "\"\"";
    parsed = parse_hocon(quoted_key + " = " + value);
  } catch (const HoconError& e) {
    throw Error(ErrorCode::bad_request, std::string(flag) + " \"" + std::string(pair) + "\": " + e.what());
  }
  merge_config(config, parsed);
}

void apply_raw_setting(nlohmann::json& config, std::string_view dotted_key, std::string_view raw_value) {
  nlohmann::json value = std::string(raw_value);
  if (raw_value == "true" || raw_value == "false") {
    value = raw_value == "true";
  } else if (!raw_value.empty() && raw_value.find_first_not_of("0123456789.-+eE") == std::string::npos) {
    const std::string text(raw_value);
    char* end = nullptr;
    errno = 0;
    const long long n = std::strtoll(text.c_str(), &end, 10);
    if (!errno && *end == '\0') {
      value = n;
    } else {
      errno = 0;
      const double d = std::strtod(text.c_str(), &end);
      if (!errno && *end == '\0' && d >= 0 && d <= 1e9) value = d;
    }
  }
  nlohmann::json* node = &config;
  std::size_t start = 0;
  for (;;) {
    const auto dot = dotted_key.find('.', start);
    const std::string part(dotted_key.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (!node->is_object()) *node = nlohmann::json::object();
    if (dot == std::string_view::npos) {
      (*node)[part] = std::move(value);
      return;
    }
    node = &(*node)[part];
    start = dot + 1;
  }
}

void merge_config(nlohmann::json& base, nlohmann::json&& overlay) {
  if (!base.is_object() || !overlay.is_object()) {
    base = std::move(overlay);
    return;
  }
  for (auto it = overlay.begin(); it != overlay.end(); ++it) {
    auto found = base.find(it.key());
    if (found != base.end() && found->is_object() && it->is_object()) {
      merge_config(*found, std::move(it.value()));
    } else {
      base[it.key()] = std::move(it.value());
    }
  }
}

void merge_config(nlohmann::json& base, const nlohmann::json& overlay) {
  if (!base.is_object() || !overlay.is_object()) {
    base = overlay;
    return;
  }
  for (auto it = overlay.begin(); it != overlay.end(); ++it) {
    auto found = base.find(it.key());
    if (found != base.end() && found->is_object() && it->is_object()) {
      merge_config(*found, *it);
    } else {
      base[it.key()] = *it;
    }
  }
}

bool is_secret_key(std::string_view key) {
  std::string k;
  k.reserve(key.size());
  for (char c : key) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    k.push_back(l == '-' || l == '.' ? '_' : l);
  }
  for (const char* needle : {"password", "passwd", "secret", "token", "access_key", "accesskey", "private_key",
                             "credential"}) {
    if (k.find(needle) != std::string::npos) return true;
  }
  return false;
}

namespace {

// `path` is the dotted path of `value`'s key: HOCON's `fs.s3a.secret.key = x` is
// nested objects, and the secret is named by the path, not by any one key.
nlohmann::json redact_at(const nlohmann::json& value, const std::string& path) {
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : value) out.push_back(redact_at(v, path));
    return out;
  }
  if (!value.is_object()) return value;
  nlohmann::json out = nlohmann::json::object();
  for (auto it = value.begin(); it != value.end(); ++it) {
    const std::string child = path.empty() ? it.key() : path + "." + it.key();
    if (is_secret_key(child) && !it->is_object()) {
      out[it.key()] = k_redacted;
    } else {
      out[it.key()] = redact_at(*it, child);
    }
  }
  return out;
}

}  // namespace

nlohmann::json redact_secrets(const nlohmann::json& config) { return redact_at(config, ""); }

}  // namespace sjs

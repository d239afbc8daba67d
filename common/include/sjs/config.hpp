// Job and daemon configuration: JSON or HOCON text, `key=value` pairs, merging,
// and hiding secret values from anything shown to people.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace sjs {

// Parses a config document: JSON if it is a JSON object, else HOCON.
// Throws Error(bad_request) "<origin>: line L, column C: <what>" on bad input.
nlohmann::json parse_config_text(std::string_view text, const std::string& origin);

// Applies one `dotted.key=value` pair (value in HOCON syntax: `a b c`, `[1,2]`,
// `"quoted"`, `42`) onto `config`. Throws Error(bad_request) on a malformed pair.
void apply_conf_pair(nlohmann::json& config, std::string_view pair, std::string_view flag = "--conf");

// Applies one setting whose value is raw text (a URL query parameter): typed as HOCON types an
// unquoted value (2 and 1.5 are numbers, true/false booleans, anything else such as "512m" or
// "local[4]" a string) and set at its dotted path, making objects on the way.
void apply_raw_setting(nlohmann::json& config, std::string_view dotted_key, std::string_view raw_value);

// Deep merge: objects merge key by key, anything else in `overlay` replaces.
void merge_config(nlohmann::json& base, const nlohmann::json& overlay);
void merge_config(nlohmann::json& base, nlohmann::json&& overlay);  // moves overlay's values

// True for keys that name secrets: *password*, *secret*, *token*, *access_key*,
// *accesskey*, *private_key*, *credential* (case-insensitive, '-' and '.' read as '_').
bool is_secret_key(std::string_view key);
// A copy with every secret value replaced by "********".
nlohmann::json redact_secrets(const nlohmann::json& config);
constexpr const char* k_redacted = "********";

}  // namespace sjs

#include "http/users.hpp"

#include <sys/stat.h>
#include <cctype>
#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "sjs/crypto.hpp"
#include "sjs/errors.hpp"
#include "sjs/paths.hpp"
#include "sjs/util.hpp"

namespace sjs::users {
namespace {

constexpr std::size_t k_salt_bytes = 16;
constexpr std::size_t k_hash_bytes = 32;
constexpr std::size_t k_token_bytes = 32;

std::string to_hex(const unsigned char* data, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 15];
  }
  return out;
}

// "" if `hex` is not an even number of hex digits.
std::string from_hex(std::string_view hex) {
  if (hex.size() % 2) return "";
  std::string out;
  out.reserve(hex.size() / 2);
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return "";
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::string pbkdf2(std::string_view password, const std::string& salt, int iterations) {
  return crypto::pbkdf2_sha256(password, salt, iterations, k_hash_bytes);
}

bool is_hex_of(const std::string& s, std::size_t bytes) {
  return s.size() == bytes * 2 && !from_hex(s).empty();
}

}  // namespace

const std::vector<std::string>& known_permissions() {
  // spark-jobserver's spark.jobserver.auth.Permissions, in its order.
  static const std::vector<std::string> k_known = {
      "*",        "binaries",      "binaries:read",  "binaries:upload", "binaries:delete",
      "contexts", "contexts:read", "contexts:start", "contexts:delete", "contexts:reset",
      "data",     "data:read",     "data:upload",    "data:delete",     "data:reset",
      "jobs",     "jobs:read",     "jobs:start",     "jobs:delete",
  };
  return k_known;
}

void check_permission(const std::string& permission) {
  for (const auto& p : known_permissions()) {
    if (p == permission) return;
  }
  std::string all;
  for (const auto& p : known_permissions()) all += (all.empty() ? "" : ", ") + p;
  throw Error(ErrorCode::bad_request, "unknown permission \"" + permission + "\" (known: " + all + ")");
}

std::vector<std::string> parse_permission_list(const std::string& list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    auto comma = list.find(',', start);
    std::string item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) item.erase(item.begin());
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) item.pop_back();
    if (!item.empty()) {
      check_permission(item);
      bool seen = false;
      for (const auto& p : out) seen = seen || p == item;
      if (!seen) out.push_back(item);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

void check_user_name(const std::string& name) {
  auto fail = [&](const std::string& why) {
    throw Error(ErrorCode::bad_request, "user name \"" + name.substr(0, 100) + "\" is invalid: " + why);
  };
  if (name.empty()) fail("it is empty");
  if (name.size() > 64) fail("it is longer than 64 characters");
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-' && c != '@') {
      fail("use letters, digits, '.', '_', '-' and '@'");
    }
  }
}

std::string random_hex(std::size_t bytes) {
  const std::string buf = crypto::random_bytes(bytes);
  return to_hex(reinterpret_cast<const unsigned char*>(buf.data()), bytes);
}

std::string new_token() {
  return random_hex(k_token_bytes);
}

std::string sha256_hex(std::string_view data) {
  const std::string out = crypto::sha256(data);
  return to_hex(reinterpret_cast<const unsigned char*>(out.data()), out.size());
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  return crypto::equal_constant_time(a, b);
}

PasswordHash hash_password(std::string_view password, int iterations) {
  PasswordHash h;
  h.iterations = iterations;
  h.salt = random_hex(k_salt_bytes);
  const std::string hash = pbkdf2(password, from_hex(h.salt), iterations);
  h.hash = to_hex(reinterpret_cast<const unsigned char*>(hash.data()), hash.size());
  return h;
}

bool verify_password(const PasswordHash& stored, std::string_view password) {
  const std::string salt = from_hex(stored.salt);
  const std::string expected = from_hex(stored.hash);
  if (stored.algorithm != k_algorithm || salt.empty() || expected.size() != k_hash_bytes ||
      stored.iterations < k_min_iterations) {
    return false;
  }
  return equal_constant_time(pbkdf2(password, salt, stored.iterations), expected);
}

UsersFile parse_users(std::string_view text, const std::string& origin) {
  auto fail = [&](const std::string& why) { throw Error(ErrorCode::bad_request, origin + ": " + why); };
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) fail("not a JSON object (see docs/http-api.md, \"Authentication\")");
  UsersFile file;
  auto users = j.find("users");
  if (users == j.end()) return file;
  if (!users->is_object()) fail("\"users\" must be an object of user name -> user");
  for (auto it = users->begin(); it != users->end(); ++it) {
    const std::string& name = it.key();
    const auto& u = it.value();
    const std::string where = "user \"" + name + "\": ";
    try {
      check_user_name(name);
    } catch (const Error& e) {
      fail(e.what());
    }
    if (!u.is_object()) fail(where + "must be an object");
    User user;
    user.name = name;
    const auto& pw = u.value("password", nlohmann::json());
    if (!pw.is_object() || !pw.value("algorithm", nlohmann::json()).is_string() ||
        !pw.value("iterations", nlohmann::json()).is_number_integer() ||
        !pw.value("salt", nlohmann::json()).is_string() || !pw.value("hash", nlohmann::json()).is_string()) {
      fail(where + "\"password\" must be {algorithm, iterations, salt, hash}");
    }
    user.password.algorithm = pw["algorithm"].get<std::string>();
    user.password.iterations = pw["iterations"].get<int>();
    user.password.salt = pw["salt"].get<std::string>();
    user.password.hash = pw["hash"].get<std::string>();
    if (user.password.algorithm != k_algorithm)
      fail(where + "unknown password algorithm \"" + user.password.algorithm + "\"");
    if (user.password.iterations < k_min_iterations) fail(where + "too few password hash iterations");
    if (from_hex(user.password.salt).empty() || !is_hex_of(user.password.hash, k_hash_bytes)) {
      fail(where + "the password's salt and hash must be hex");
    }
    const auto& perms = u.value("permissions", nlohmann::json::array());
    if (!perms.is_array()) fail(where + "\"permissions\" must be an array of strings");
    for (const auto& p : perms) {
      if (!p.is_string()) fail(where + "\"permissions\" must be an array of strings");
      try {
        check_permission(p.get<std::string>());
      } catch (const Error& e) {
        fail(where + e.what());
      }
      user.permissions.push_back(p.get<std::string>());
    }
    const auto& tokens = u.value("tokens", nlohmann::json::array());
    if (!tokens.is_array()) fail(where + "\"tokens\" must be an array");
    for (const auto& t : tokens) {
      if (!t.is_object() || !t.value("sha256", nlohmann::json()).is_string() ||
          !is_hex_of(t["sha256"].get<std::string>(), crypto::k_sha256_bytes)) {
        fail(where + "each token must be {\"sha256\": <64 hex digits>}");
      }
      user.tokens.push_back(Token{t["sha256"].get<std::string>(), t.value("created_ms", std::int64_t{0})});
    }
    const auto& created = u.value("created_ms", nlohmann::json(0));
    user.created_ms = created.is_number() ? created.get<std::int64_t>() : 0;
    file.users.emplace(name, std::move(user));
  }
  return file;
}

std::string dump_users(const UsersFile& file) {
  nlohmann::json users = nlohmann::json::object();
  for (const auto& [name, u] : file.users) {
    nlohmann::json tokens = nlohmann::json::array();
    for (const auto& t : u.tokens) tokens.push_back({{"sha256", t.sha256}, {"created_ms", t.created_ms}});
    users[name] = {{"password",
                    {{"algorithm", u.password.algorithm},
                     {"iterations", u.password.iterations},
                     {"salt", u.password.salt},
                     {"hash", u.password.hash}}},
                   {"permissions", u.permissions},
                   {"tokens", tokens},
                   {"created_ms", u.created_ms}};
  }
  return nlohmann::json{{"version", 1}, {"users", users}}.dump(2) + "\n";
}

UsersFile load_users(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return UsersFile{};
    throw Error(ErrorCode::bad_request, "cannot read users file " + path + ": " + std::strerror(errno));
  }
  return parse_users(read_file(path), path);
}

void save_users(const std::string& path, const UsersFile& file) {
  make_dirs(parent_dir(path), 0700);
  write_file_atomic(path, dump_users(file), 0600);
  ::chmod(path.c_str(), 0600);
}

std::string users_file_path(const std::string& data_dir, const std::string& configured) {
  if (configured.empty()) return data_dir + "/users.json";
  if (configured.front() == '/') return configured;
  return data_dir + "/" + configured;
}

}  // namespace sjs::users

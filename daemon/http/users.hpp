// The users file of the HTTP front end (default <data dir>/users.json,
// `http.users-file` in sjsd.conf): users with salted password hashes, their
// permissions (spark-jobserver's names) and bearer tokens. sjsd reads it
// (http/auth.cpp); `sjs user ...` (cli/commands/user.cpp) edits it. Neither
// needs the other: the daemon picks up changes by the file's mtime.
//
//   {"version": 1,
//    "users": {"alice": {"password": {"algorithm": "pbkdf2-sha256", "iterations": 100000,
//                                     "salt": "<hex, 16 bytes>", "hash": "<hex, 32 bytes>"},
//                        "permissions": ["jobs", "binaries:read"],
//                        "tokens": [{"sha256": "<hex of the token's SHA-256>", "created_ms": 0}],
//                        "created_ms": 0}}}
//
// A token is 32 random bytes shown once as 64 hex digits; only its SHA-256 is kept.
// Depends on sjs_common and OpenSSL's libcrypto only (linked into sjs and sjsd).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sjs::users {

constexpr int k_iterations = 100000;    // PBKDF2-HMAC-SHA256 rounds for new hashes
constexpr int k_min_iterations = 1000;  // a file asking for fewer is refused
constexpr const char* k_algorithm = "pbkdf2-sha256";

struct PasswordHash {
  std::string algorithm = k_algorithm;
  int iterations = k_iterations;
  std::string salt;  // hex
  std::string hash;  // hex
};

struct Token {
  std::string sha256;  // hex of SHA-256(token text)
  std::int64_t created_ms = 0;
};

struct User {
  std::string name;
  PasswordHash password;
  std::vector<std::string> permissions;
  std::vector<Token> tokens;
  std::int64_t created_ms = 0;
};

struct UsersFile {
  std::map<std::string, User> users;
};

// spark-jobserver's permission names: "*", then each area alone and with its actions.
const std::vector<std::string>& known_permissions();
// Throws Error(bad_request) naming the permission and the known ones.
void check_permission(const std::string& permission);
// "a,b, c" -> {"a","b","c"}, each checked; empty entries dropped.
std::vector<std::string> parse_permission_list(const std::string& list);
// 1-64 chars of [A-Za-z0-9._@-] (no ':', which Basic auth splits on). Throws Error(bad_request).
void check_user_name(const std::string& name);

// A new salted hash of `password` (random 16-byte salt).
PasswordHash hash_password(std::string_view password, int iterations = k_iterations);
// True if `password` matches; compares in constant time.
bool verify_password(const PasswordHash& stored, std::string_view password);

std::string sha256_hex(std::string_view data);
std::string random_hex(std::size_t bytes);
// A new bearer token: 32 random bytes as hex.
std::string new_token();
// Constant-time equality (lengths are not secret).
bool equal_constant_time(std::string_view a, std::string_view b);

// Parses the file's text; throws Error(bad_request) "<origin>: ..." when malformed.
UsersFile parse_users(std::string_view text, const std::string& origin);
std::string dump_users(const UsersFile& file);
// A missing file reads as no users; throws Error(bad_request) when it is malformed.
UsersFile load_users(const std::string& path);
// Writes atomically (temp file, fsync, rename), mode 0600.
void save_users(const std::string& path, const UsersFile& file);

// `configured` ("" = <data dir>/users.json); a relative path is taken relative to the data dir.
std::string users_file_path(const std::string& data_dir, const std::string& configured);

}  // namespace sjs::users

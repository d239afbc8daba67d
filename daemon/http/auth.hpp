// Authentication of the HTTP front end (docs/http-api.md, "Authentication").
// Users come from the users file (http/users.hpp): HTTP Basic with a password,
// or `Authorization: Bearer <token>`. Auth is on when the file has at least one
// user; the file is re-read when it changes (checked at most once a second), so
// `sjs user add` takes effect without a restart. Routes check permissions with
// HttpRequest::allowed(); this only authenticates (401) and fills request.user,
// request.auth_enabled and request.permissions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "http/http_types.hpp"
#include "http/users.hpp"

namespace sjs {

struct AuthOptions {
  std::string users_file;      // absolute path
  bool required = false;       // with no users, refuse everyone (a non-loopback address was allowed because of users)
  bool cors = false;           // let CORS preflights (OPTIONS) through: browsers send them without credentials
  double cache_seconds = 300;  // how long a verified (user, password) skips PBKDF2
};

class Authenticator {
 public:
  explicit Authenticator(AuthOptions options);

  // Reads the users file now; throws Error(bad_request) if it is malformed.
  void load();
  bool has_users() const { return !m_users.users.empty(); }

  // The HttpAuthenticator hook: true to go on to the routes; false once it has answered 401.
  bool authenticate(HttpRequest& request, HttpResponder& responder);

 private:
  struct FileId {
    bool exists = false;
    std::uint64_t inode = 0;
    std::int64_t mtime_ns = 0;
    std::int64_t size = 0;
    bool operator==(const FileId& o) const {
      return exists == o.exists && inode == o.inode && mtime_ns == o.mtime_ns && size == o.size;
    }
  };
  FileId file_id() const;
  void maybe_reload();
  // The user the credentials name, or nullptr; `why` says what was wrong.
  const users::User* check_basic(const std::string& encoded, std::string& why);
  const users::User* check_bearer(const std::string& token, std::string& why);
  void unauthorized(const HttpRequest& request, HttpResponder& responder, const std::string& why) const;

  AuthOptions m_options;
  users::UsersFile m_users;
  FileId m_file;
  std::chrono::steady_clock::time_point m_last_check{};
  // SHA-256 of (user, password, salt) -> when the verification expires. Only successes.
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> m_verified;
  users::PasswordHash m_dummy;  // verified against for unknown users: the same cost as a wrong password
};

// CORS (`http.cors-origin`): "" = off, "*" = any origin, else a comma-separated list of origins.
class Cors {
 public:
  explicit Cors(const std::string& origins);
  bool enabled() const { return m_any || !m_origins.empty(); }
  // A browser's preflight: OPTIONS with Access-Control-Request-Method.
  bool is_preflight(const HttpRequest& request) const;
  // 204 with the Access-Control-Allow-* headers (403 E1 for an origin not allowed).
  HttpResponse preflight(const HttpRequest& request) const;
  // Adds Access-Control-Allow-Origin (and friends) for the request's Origin, if allowed.
  void add_headers(const HttpRequest& request, std::vector<std::pair<std::string, std::string>>& headers) const;

 private:
  // The Access-Control-Allow-Origin value for `origin`, or "" if it is not allowed.
  std::string allow_origin(const std::string& origin) const;
  bool m_any = false;
  std::vector<std::string> m_origins;
};

}  // namespace sjs

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
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "http/http_types.hpp"
#include "http/users.hpp"

namespace sjs {

struct AuthOptions {
  std::string users_file;      // absolute path
  bool required = false;       // with no users, refuse everyone (a non-loopback address was allowed because of users)
  bool cors = false;           // let CORS preflights (OPTIONS) through: browsers send them without credentials
  double cache_seconds = 300;  // how long a verified (user, password) skips PBKDF2
};

// Password checks (PBKDF2, about 30 ms each) run on a thread of their own, never on the core
// thread: a client sending wrong passwords slows nobody else down. Requests with the same
// credentials share one check; past k_max_checks distinct checks in flight, more are answered 503.
class Authenticator : public std::enable_shared_from_this<Authenticator> {
 public:
  Authenticator(boost::asio::io_context& io, AuthOptions options);
  ~Authenticator();

  // Reads the users file now; throws Error(bad_request) if it is malformed.
  void load();
  bool has_users() const { return !m_users.users.empty(); }

  // The HttpAuthenticator hook (http_server.hpp): calls `proceed` (maybe later, on the io_context)
  // to go on to the routes, or answers 401 / 503 itself.
  void authenticate(HttpRequest& request, std::shared_ptr<HttpResponder> responder, std::function<void()> proceed);

  static constexpr std::size_t k_max_checks = 64;

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
  // Re-reads the users file if it changed, looking (one stat) at most once per `interval`: a second
  // normally; at once for credentials that match no user or token (`sjs user add|token` may have
  // just written them; a flood of bad ones costs a stat each, the file is parsed only when it
  // changed) and while there are no users (the first `sjs user add` turns auth on at once).
  void maybe_reload(std::chrono::milliseconds interval = std::chrono::milliseconds(1000));
  struct Waiter {
    HttpRequest* request;  // the session's, kept alive by `responder`
    std::shared_ptr<HttpResponder> responder;
    std::function<void()> proceed;
  };
  // Basic credentials: admitted from the cache, or checked on m_checker (finish_basic answers).
  void check_basic(const std::string& encoded, Waiter waiter);
  void finish_basic(const std::string& key, const std::string& name, const std::string& salt, bool ok);
  // The user a bearer token belongs to, or nullptr.
  const users::User* check_bearer(const std::string& token) const;
  static void admit(const users::User& user, Waiter& waiter);
  void unauthorized(const HttpRequest& request, HttpResponder& responder, const std::string& why) const;


  boost::asio::io_context& m_io;
  AuthOptions m_options;
  users::UsersFile m_users;
  FileId m_file;
  std::chrono::steady_clock::time_point m_last_check{};
  // SHA-256 of (user, password, salt) -> when the verification expires. Only successes.
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> m_verified;
  users::PasswordHash m_dummy;  // verified against for unknown users: the same cost as a wrong password
  // Password checks in flight: key (as in m_verified) -> the requests waiting for it.
  std::unordered_map<std::string, std::vector<Waiter>> m_checks;
  boost::asio::thread_pool m_checker{1};
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

#include "http/auth.hpp"

#include <sys/stat.h>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <iterator>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "sjs/errors.hpp"
#include "sjs/util.hpp"

namespace sjs {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t k_max_cached = 4096;

// Standard base64 (padding optional); false on anything else.
bool base64_decode(std::string_view in, std::string& out) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  out.clear();
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return bits < 6;  // a single leftover sextet is not valid base64
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(s.begin());
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

}  // namespace

Authenticator::Authenticator(boost::asio::io_context& io, AuthOptions options) : m_io(io), m_options(std::move(options)) {
  m_dummy = users::hash_password(users::random_hex(16));
}

Authenticator::~Authenticator() {
  m_checker.stop();
  m_checker.join();
}

Authenticator::FileId Authenticator::file_id() const {
  FileId id;
  struct stat st {};
  if (::stat(m_options.users_file.c_str(), &st) != 0) return id;
  id.exists = true;
  id.inode = st.st_ino;
  id.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  id.size = st.st_size;
  return id;
}

void Authenticator::load() {
  FileId id = file_id();
  m_users = users::load_users(m_options.users_file);
  m_file = id;
  m_last_check = Clock::now();
  m_verified.clear();
  if (!m_users.users.empty()) {
    spdlog::info("HTTP authentication on: {} user(s) in {}", m_users.users.size(), m_options.users_file);
  }
}

void Authenticator::maybe_reload(std::chrono::milliseconds interval) {
  const auto now = Clock::now();
  if (now - m_last_check < interval) return;
  m_last_check = now;
  FileId id = file_id();
  if (id == m_file) return;
  try {
    m_users = users::load_users(m_options.users_file);
    spdlog::info("reloaded {}: {} user(s), HTTP authentication {}", m_options.users_file, m_users.users.size(),
                 has_users() ? "on" : (m_options.required ? "required (nobody can sign in)" : "off"));
  } catch (const Error& e) {
    // Keep the users we had: a half-edited file must not open the door.
    spdlog::error("cannot reload the users file (keeping the previous {} user(s)): {}", m_users.users.size(), e.what());
  }
  m_file = id;
  m_verified.clear();
}

void Authenticator::check_basic(const std::string& encoded, Waiter waiter) {
  std::string decoded;
  if (!base64_decode(trim(encoded), decoded)) {
    return unauthorized(*waiter.request, *waiter.responder, "malformed Basic credentials");
  }
  const auto colon = decoded.find(':');
  if (colon == std::string::npos) {
    return unauthorized(*waiter.request, *waiter.responder, "malformed Basic credentials (no ':')");
  }
  std::string name = decoded.substr(0, colon);
  std::string password = decoded.substr(colon + 1);
  auto it = m_users.users.find(name);
  if (it == m_users.users.end()) {  // a user added a moment ago: look at the file again first
    maybe_reload(std::chrono::milliseconds(0));
    it = m_users.users.find(name);
  }
  const users::PasswordHash& stored = it == m_users.users.end() ? m_dummy : it->second.password;
  // A cached success skips PBKDF2: keep-alive clients and load tests stay fast.
  std::string key = name;
  key.push_back('\0');
  key += password;
  key.push_back('\0');
  key += stored.salt;
  key = users::sha256_hex(key);
  if (it != m_users.users.end()) {
    auto cached = m_verified.find(key);
    if (cached != m_verified.end()) {
      if (cached->second > Clock::now()) {
        admit(it->second, waiter);
        return waiter.proceed();
      }
      m_verified.erase(cached);
    }
  }
  auto running = m_checks.find(key);
  if (running != m_checks.end()) {  // the same credentials are being checked: share that answer
    running->second.push_back(std::move(waiter));
    return;
  }
  if (m_checks.size() >= k_max_checks) {
    spdlog::warn("http {} {} from {}: 503 ({} password checks in flight)", waiter.request->method,
                 waiter.request->path, waiter.request->remote, m_checks.size());
    HttpResponse r;
    r.status = 503;
    r.headers.emplace_back("Retry-After", "1");
    r.body = nlohmann::json{{"status", "ERROR"},
                            {"result", "too many password checks in progress: retry in a moment, or use a bearer "
                                       "token (sjs user token)"}}
                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return waiter.responder->send(std::move(r));
  }
  m_checks[key].push_back(std::move(waiter));
  // The checker holds no strong reference: the Authenticator is only ever destroyed on the core thread.
  std::weak_ptr<Authenticator> weak = shared_from_this();
  boost::asio::post(m_checker, [weak, &io = m_io, key, name, password, stored] {
    const bool ok = users::verify_password(stored, password);
    boost::asio::post(io, [weak, key, name, salt = stored.salt, ok] {
      if (auto self = weak.lock()) self->finish_basic(key, name, salt, ok);
    });
  });
}

void Authenticator::finish_basic(const std::string& key, const std::string& name, const std::string& salt, bool ok) {
  auto node = m_checks.extract(key);
  if (node.empty()) return;
  // The users file may have been reloaded meanwhile: the user must still be there, with the same salt.
  auto it = m_users.users.find(name);
  const bool good = ok && it != m_users.users.end() && it->second.password.salt == salt;
  if (good) {
    const auto now = Clock::now();
    if (m_verified.size() >= k_max_cached) {
      for (auto i = m_verified.begin(); i != m_verified.end();) i = i->second <= now ? m_verified.erase(i) : std::next(i);
      if (m_verified.size() >= k_max_cached) m_verified.clear();
    }
    m_verified[key] = now + std::chrono::milliseconds(static_cast<std::int64_t>(m_options.cache_seconds * 1000));
  }
  for (auto& waiter : node.mapped()) {
    if (!waiter.responder->open()) continue;  // the client went away meanwhile
    if (good) {
      admit(it->second, waiter);
      waiter.proceed();
    } else {
      unauthorized(*waiter.request, *waiter.responder, "wrong user name or password");
    }
  }
}

const users::User* Authenticator::check_bearer(const std::string& token) const {
  const std::string digest = users::sha256_hex(trim(token));
  const users::User* found = nullptr;
  // Every stored token is compared, in constant time each.
  for (const auto& [name, user] : m_users.users) {
    for (const auto& t : user.tokens) {
      if (users::equal_constant_time(t.sha256, digest) && !found) found = &user;
    }
  }
  return found;
}

void Authenticator::admit(const users::User& user, Waiter& waiter) {
  waiter.request->user = user.name;
  waiter.request->permissions.insert(user.permissions.begin(), user.permissions.end());
}

void Authenticator::unauthorized(const HttpRequest& request, HttpResponder& responder, const std::string& why) const {
  spdlog::warn("http {} {} from {}: 401 ({})", request.method, request.path, request.remote, why);
  const std::string message = "authentication required (" + why + "): use HTTP Basic or a bearer token";
  HttpResponse r;
  r.status = 401;
  r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"sjs\"");
  // sjs's own API answers with its envelope (the remote CLI reads the code); the rest with spark-jobserver's E1.
  if (starts_with(request.path, "/sjs/v1/")) {
    r.body = nlohmann::json{{"ok", false}, {"error", {{"code", "unauthorized"}, {"message", message}}}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    r.body = nlohmann::json{{"status", "ERROR"}, {"result", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  responder.send(std::move(r));
}

void Authenticator::authenticate(HttpRequest& request, std::shared_ptr<HttpResponder> responder,
                                 std::function<void()> proceed) {
  // The health check is never behind auth.
  if (request.segments.size() == 1 && request.segments[0] == "healthz") return proceed();
  // A partition server's registration carries its cluster's token instead (routes_clusters.cpp checks it).
  if (request.method == "POST" && request.segments.size() == 3 && request.segments[0] == "clusters" &&
      request.segments[2] == "register") {
    return proceed();
  }
  // CORS preflights carry no credentials; the routes answer them.
  if (m_options.cors && request.method == "OPTIONS" && !request.header("access-control-request-method").empty()) {
    return proceed();
  }
  // With no users yet, look more often: the first `sjs user add` must turn auth on at once.
  maybe_reload(has_users() ? std::chrono::milliseconds(1000) : std::chrono::milliseconds(0));
  if (!has_users()) {
    if (!m_options.required) return proceed();  // auth off: any credentials sent are ignored
    request.auth_enabled = true;
    return unauthorized(request, *responder, "no users are configured (sjs user add)");
  }
  request.auth_enabled = true;
  request.permissions.clear();
  const std::string header = request.header("authorization");
  if (header.empty()) return unauthorized(request, *responder, "no credentials");
  const auto space = header.find(' ');
  const std::string scheme = ascii_lower(header.substr(0, space));
  const std::string rest = space == std::string::npos ? "" : header.substr(space + 1);
  Waiter waiter{&request, std::move(responder), std::move(proceed)};
  if (scheme == "basic") return check_basic(rest, std::move(waiter));
  if (scheme != "bearer") {
    return unauthorized(request, *waiter.responder,
                        "unsupported authorization scheme \"" + header.substr(0, std::min<std::size_t>(space, 20)) +
                            "\"");
  }
  const users::User* user = check_bearer(rest);
  if (!user) {  // a token made a moment ago (sjs user token): look at the file again first
    maybe_reload(std::chrono::milliseconds(0));
    user = check_bearer(rest);
  }
  if (!user) return unauthorized(request, *waiter.responder, "unknown or revoked token");
  admit(*user, waiter);
  waiter.proceed();
}

// ---- CORS ------------------------------------------------------------------------

Cors::Cors(const std::string& origins) {
  std::size_t start = 0;
  while (start <= origins.size()) {
    auto comma = origins.find(',', start);
    std::string o = trim(origins.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    while (!o.empty() && o.back() == '/') o.pop_back();
    if (o == "*")
      m_any = true;
    else if (!o.empty())
      m_origins.push_back(o);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
}

bool Cors::is_preflight(const HttpRequest& request) const {
  return enabled() && request.method == "OPTIONS" && !request.header("access-control-request-method").empty();
}

std::string Cors::allow_origin(const std::string& origin) const {
  if (m_any) return "*";
  for (const auto& o : m_origins) {
    if (o == origin) return o;
  }
  return "";
}

HttpResponse Cors::preflight(const HttpRequest& request) const {
  const std::string origin = allow_origin(request.header("origin"));
  if (origin.empty()) {
    return HttpResponse{
        403,
        "application/json",
        nlohmann::json{{"status", "ERROR"},
                       {"result", "origin \"" + request.header("origin") + "\" is not allowed (http.cors-origin)"}}
            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
        {}};
  }
  HttpResponse r;
  r.status = 204;
  r.content_type = "text/plain";
  r.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS");
  const std::string asked = request.header("access-control-request-headers");
  r.headers.emplace_back("Access-Control-Allow-Headers", asked.empty() ? "Authorization, Content-Type" : asked);
  r.headers.emplace_back("Access-Control-Max-Age", "600");
  return r;  // Access-Control-Allow-Origin comes from add_headers, as on every response
}

void Cors::add_headers(const HttpRequest& request, std::vector<std::pair<std::string, std::string>>& headers) const {
  if (!enabled()) return;
  const std::string origin = allow_origin(request.header("origin"));
  if (origin.empty()) return;
  headers.emplace_back("Access-Control-Allow-Origin", origin);
  headers.emplace_back("Access-Control-Expose-Headers", "Location, WWW-Authenticate");
  if (origin != "*") {
    headers.emplace_back("Access-Control-Allow-Credentials", "true");
    headers.emplace_back("Vary", "Origin");
  }
}

}  // namespace sjs

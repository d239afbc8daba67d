// sjs user add|list|remove|token|revoke-token: edit the users file of sjsd's
// HTTP front end directly (no daemon needed; sjsd re-reads the file when it
// changes). The file: --users-file, else sjsd.conf's http.users-file, else
// <data dir>/users.json. Format and hashing: daemon/http/users.hpp.
#include <fcntl.h>
#include <sys/file.h>
#include <termios.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <iostream>

#include "cli.hpp"
#include "http/users.hpp"
#include "sjs/config.hpp"
#include "sjs/errors.hpp"
#include "sjs/paths.hpp"
#include "sjs/util.hpp"

namespace sjs::cli {
namespace {

std::string users_file(const Context& ctx, const std::string& flag) {
  if (!flag.empty()) return absolute_path(flag);
  const std::string data_dir = resolve_paths(ctx.globals.data_dir, ctx.globals.socket).data_dir;
  std::string configured;
  const std::string conf = data_dir + "/sjsd.conf";
  if (::access(conf.c_str(), F_OK) == 0) {
    nlohmann::json c = parse_config_text(read_file(conf), conf);
    if (c.is_object() && c.contains("http") && c["http"].is_object() && c["http"].contains("users-file") &&
        c["http"]["users-file"].is_string()) {
      configured = c["http"]["users-file"].get<std::string>();
    }
  }
  return users::users_file_path(data_dir, configured);
}

// Holds <users file>.lock while a command reads, changes and writes the file.
class FileLock {
 public:
  explicit FileLock(const std::string& users_path) {
    make_dirs(parent_dir(users_path), 0700);
    const std::string path = users_path + ".lock";
    m_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (m_fd < 0) throw Error(ErrorCode::internal, "cannot open " + path + ": " + std::strerror(errno));
    while (::flock(m_fd, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  ~FileLock() { ::close(m_fd); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int m_fd = -1;
};

std::string read_password(bool from_stdin) {
  std::string password;
  if (from_stdin) {
    password = read_stdin_line();
  } else {
    if (!::isatty(STDIN_FILENO)) {
      throw Error(ErrorCode::usage,
                  "no terminal to ask for the password on: pass --password-stdin and the password "
                  "as one line on stdin");
    }
    password = prompt_hidden("Password: ");
    if (prompt_hidden("Password (again): ") != password) throw Error(ErrorCode::bad_request, "the passwords differ");
  }
  if (password.empty()) throw Error(ErrorCode::bad_request, "the password is empty");
  return password;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

users::User& find_user(users::UsersFile& file, const std::string& name, const std::string& path) {
  auto it = file.users.find(name);
  if (it == file.users.end()) {
    throw Error(ErrorCode::not_found, "no user \"" + name + "\" in " + path + " (see: sjs user list)");
  }
  return it->second;
}

struct UserOpts {
  std::string name;
  std::string users_file;
  std::string permissions = "*";
  bool password_stdin = false;
  bool replace = false;
};

void add(Context& ctx, const UserOpts& o) {
  users::check_user_name(o.name);
  const auto permissions = users::parse_permission_list(o.permissions);
  const std::string path = users_file(ctx, o.users_file);
  {
    // Fail before asking for a password that could not be used.
    auto current = users::load_users(path);
    if (current.users.count(o.name) && !o.replace) {
      throw Error(ErrorCode::already_exists, "user \"" + o.name +
                                                 "\" exists (--replace sets a new password and "
                                                 "permissions)");
    }
  }
  const std::string password = read_password(o.password_stdin);
  users::PasswordHash hash = users::hash_password(password);
  FileLock lock(path);
  auto file = users::load_users(path);
  auto it = file.users.find(o.name);
  if (it != file.users.end() && !o.replace) {
    throw Error(ErrorCode::already_exists, "user \"" + o.name + "\" exists");
  }
  users::User& u = file.users[o.name];
  const bool existed = it != file.users.end();
  u.name = o.name;
  u.password = hash;
  u.permissions = permissions;
  if (!existed) u.created_ms = now_ms();
  users::save_users(path, file);
  if (ctx.globals.json) {
    print_json({{"name", u.name}, {"permissions", u.permissions}, {"users_file", path}});
    return;
  }
  info(ctx, std::string(existed ? "replaced" : "added") + " user " + u.name +
                " (permissions: " + (u.permissions.empty() ? "none" : join(u.permissions)) + ") in " + path);
}

void list(Context& ctx, const UserOpts& o) {
  const std::string path = users_file(ctx, o.users_file);
  const auto file = users::load_users(path);
  if (ctx.globals.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& [name, u] : file.users) {
      arr.push_back(
          {{"name", name}, {"permissions", u.permissions}, {"tokens", u.tokens.size()}, {"created_ms", u.created_ms}});
    }
    print_json({{"users_file", path}, {"users", arr}});
    return;
  }
  if (file.users.empty()) {
    info(ctx, "no users in " + path + ": HTTP authentication is off (add one with: sjs user add NAME)");
    return;
  }
  std::vector<std::vector<std::string>> rows = {{"NAME", "PERMISSIONS", "TOKENS", "CREATED"}};
  for (const auto& [name, u] : file.users) {
    rows.push_back({name, u.permissions.empty() ? "-" : join(u.permissions), std::to_string(u.tokens.size()),
                    human_time(u.created_ms)});
  }
  print_table(rows);
}

void remove(Context& ctx, const UserOpts& o) {
  const std::string path = users_file(ctx, o.users_file);
  FileLock lock(path);
  auto file = users::load_users(path);
  find_user(file, o.name, path);
  file.users.erase(o.name);
  users::save_users(path, file);
  if (ctx.globals.json) {
    print_json({{"name", o.name}, {"removed", true}});
    return;
  }
  info(ctx, "removed user " + o.name + (file.users.empty() ? " (no users left: HTTP authentication is off)" : ""));
}

void token(Context& ctx, const UserOpts& o) {
  const std::string path = users_file(ctx, o.users_file);
  FileLock lock(path);
  auto file = users::load_users(path);
  users::User& u = find_user(file, o.name, path);
  const std::string t = users::new_token();
  u.tokens.push_back(users::Token{users::sha256_hex(t), now_ms()});
  users::save_users(path, file);
  if (ctx.globals.json) {
    print_json({{"name", o.name}, {"token", t}});
    return;
  }
  std::cout << t << "\n";
  info(ctx, "a new token for " + o.name +
                ": it is shown only this once (send it as `Authorization: Bearer <token>`; "
                "revoke with: sjs user revoke-token " +
                o.name + ")");
}

void revoke_tokens(Context& ctx, const UserOpts& o) {
  const std::string path = users_file(ctx, o.users_file);
  FileLock lock(path);
  auto file = users::load_users(path);
  users::User& u = find_user(file, o.name, path);
  const std::size_t n = u.tokens.size();
  u.tokens.clear();
  users::save_users(path, file);
  if (ctx.globals.json) {
    print_json({{"name", o.name}, {"revoked", n}});
    return;
  }
  info(ctx, "revoked " + std::to_string(n) + " token(s) of " + o.name);
}

}  // namespace

void add_user_commands(CLI::App& app, Context& ctx) {
  auto* user = app.add_subcommand("user", "Manage users of sjsd's HTTP API (its users file; no daemon needed)");
  user->require_subcommand(1);
  // The users file is on the daemon's machine: over --url there is nothing to edit.
  CLI::Option* url_flag = app.get_option("--url");
  user->parse_complete_callback([&ctx, url_flag] {
    if (url_flag->count() > 0) {
      throw Error(ErrorCode::usage,
                  "sjs user edits the users file on the daemon's own machine and does not work over --url: run it "
                  "there (e.g. ssh HOST sjs user ...)");
    }
    if (!ctx.globals.url.empty()) {
      info(ctx, "note: sjs user edits this machine's users file; $SJS_URL is not used");
    }
  });
  const char* file_help = "The users file (default: sjsd.conf's http.users-file, else <data dir>/users.json)";

  auto add_o = std::make_shared<UserOpts>();
  auto* a = user->add_subcommand("add", "Add a user with a password (asked twice on a terminal) and permissions");
  a->add_option("NAME", add_o->name, "User name: letters, digits, '.', '_', '-', '@'")->required();
  a->add_option("--permissions", add_o->permissions,
                "Comma-separated permissions (default \"*\": all), e.g. jobs,binaries:read");
  a->add_flag("--password-stdin", add_o->password_stdin, "Read the password as one line from stdin");
  a->add_flag("--replace", add_o->replace, "Replace an existing user's password and permissions (tokens stay)");
  a->add_option("--users-file", add_o->users_file, file_help);
  a->callback([&ctx, add_o] { add(ctx, *add_o); });

  auto list_o = std::make_shared<UserOpts>();
  auto* l = user->add_subcommand("list", "List users, their permissions and how many tokens they have");
  l->add_option("--users-file", list_o->users_file, file_help);
  l->callback([&ctx, list_o] { list(ctx, *list_o); });

  auto rm_o = std::make_shared<UserOpts>();
  auto* r = user->add_subcommand("remove", "Remove a user and its tokens");
  r->add_option("NAME", rm_o->name, "User name")->required();
  r->add_option("--users-file", rm_o->users_file, file_help);
  r->callback([&ctx, rm_o] { remove(ctx, *rm_o); });

  auto tok_o = std::make_shared<UserOpts>();
  auto* t = user->add_subcommand("token", "Create a bearer token for a user and print it (only this once)");
  t->add_option("NAME", tok_o->name, "User name")->required();
  t->add_option("--users-file", tok_o->users_file, file_help);
  t->callback([&ctx, tok_o] { token(ctx, *tok_o); });

  auto rev_o = std::make_shared<UserOpts>();
  auto* v = user->add_subcommand("revoke-token", "Revoke every token of a user");
  v->add_option("NAME", rev_o->name, "User name")->required();
  v->add_option("--users-file", rev_o->users_file, file_help);
  v->callback([&ctx, rev_o] { revoke_tokens(ctx, *rev_o); });
}

}  // namespace sjs::cli

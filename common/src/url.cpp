#include "sjs/url.hpp"

#include <arpa/inet.h>

#include "sjs/errors.hpp"
#include "sjs/util.hpp"

namespace sjs {

std::string Url::host_port() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string Url::origin() const { return std::string(scheme()) + "://" + host_port(); }

Url parse_url(std::string_view text) {
  auto bad = [](const std::string& why) { return Error(ErrorCode::bad_request, why); };
  Url u;
  const std::string scheme_part = ascii_lower(std::string(text.substr(0, 8)));
  std::string_view rest;
  if (starts_with(scheme_part, "http://")) {
    rest = text.substr(7);
  } else if (starts_with(scheme_part, "https://")) {
    u.tls = true;
    rest = text.substr(8);
  } else {
    throw bad("the scheme must be http:// or https://");
  }
  for (unsigned char c : text) {
    if (c <= ' ' || c == 0x7f) throw bad("it contains a space or a control character");
  }

  // authority | path | ?query | #fragment
  const auto end_of_authority = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end_of_authority);
  std::string_view after = end_of_authority == std::string_view::npos ? std::string_view() : rest.substr(end_of_authority);
  if (const auto hash = after.find('#'); hash != std::string_view::npos) {
    u.has_fragment = true;
    after = after.substr(0, hash);
  }
  if (const auto q = after.find('?'); q != std::string_view::npos) {
    u.has_query = true;
    u.query = std::string(after.substr(q + 1));
    after = after.substr(0, q);
  }
  u.path = std::string(after);

  // [userinfo@]host[:port]; the last '@' ends the userinfo (a password may hold an unencoded '@').
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    u.has_userinfo = true;
    const std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const auto colon = userinfo.find(':');
    u.user = percent_decode(userinfo.substr(0, colon), false);
    if (colon != std::string_view::npos) u.password = percent_decode(userinfo.substr(colon + 1), false);
  }
  std::string_view port_text;
  bool has_port_separator = false;
  if (!authority.empty() && authority[0] == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) throw bad("an IPv6 address needs its closing ']'");
    u.host = std::string(authority.substr(1, close - 1));
    const std::string_view tail = authority.substr(close + 1);
    if (!tail.empty()) {
      if (tail[0] != ':') throw bad("unexpected text after the IPv6 address");
      has_port_separator = true;
      port_text = tail.substr(1);
    }
    // A zone ("fe80::1%25eth0") is kept in the host but not checked.
    const std::string address = u.host.substr(0, u.host.find('%'));
    unsigned char buf[sizeof(in6_addr)];
    if (u.host.empty() || ::inet_pton(AF_INET6, address.c_str(), buf) != 1) {
      throw bad("\"[" + u.host + "]\" is not an IPv6 address");
    }
  } else {
    const auto colon = authority.find(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      has_port_separator = true;
      port_text = authority.substr(colon + 1);
      if (port_text.find(':') != std::string_view::npos) {
        throw bad("an IPv6 address must be in brackets, as in http://[::1]:8090");
      }
    }
    if (u.host.find_first_of("[]") != std::string::npos) throw bad("'[' or ']' outside an IPv6 address");
  }
  if (u.host.empty()) throw bad("no host");

  u.port = u.tls ? 443 : 80;
  if (has_port_separator && !port_text.empty()) {
    if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string_view::npos) {
      throw bad("the port must be a number");
    }
    const int port = std::stoi(std::string(port_text));
    if (port < 1 || port > 65535) throw bad("the port must be 1 to 65535");
    u.port = static_cast<std::uint16_t>(port);
    u.port_given = true;
  }
  return u;
}

}  // namespace sjs

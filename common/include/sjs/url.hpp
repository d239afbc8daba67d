// http:// and https:// URLs, parsed once for every part of sjs that dials one:
// the CLI's --url (cli/http_transport.*) and the daemon's job callbacks
// (daemon/http/callbacks.*). Each caller decides what it allows (a query, a path,
// credentials) and how it words the error; the grammar lives here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sjs {

struct Url {
  bool tls = false;             // https://
  bool has_userinfo = false;    // "user[:password]@" was given
  std::string user;             // percent-decoded
  std::string password;         // percent-decoded, "" when none
  std::string host;             // a name, an IPv4 address, or an IPv6 address without its brackets
  std::uint16_t port = 0;       // as given, else 443 for https and 80 for http
  bool port_given = false;
  std::string path;             // from the first '/' up to '?' or '#', as given ("" when none)
  bool has_query = false;
  std::string query;            // after '?' up to '#', as given
  bool has_fragment = false;    // a '#...' was given (never sent to a server)

  const char* scheme() const { return tls ? "https" : "http"; }
  // "host:port", an IPv6 address in brackets: for a Host header with the port, and messages.
  std::string host_port() const;
  // "https://host:port": the URL's origin, without credentials, path or query.
  std::string origin() const;
};

// Parses "http[s]://[user[:password]@]host[:port][/path][?query][#fragment]" (the scheme
// in any case). Throws Error(bad_request) whose message says only what is wrong (e.g. "the
// port must be 1 to 65535"); callers put their own context around it.
Url parse_url(std::string_view text);

}  // namespace sjs

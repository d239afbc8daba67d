// common/url: the one http(s) URL parser, used by the CLI's --url and the daemon's job
// callbacks (daemon/http/callbacks.cpp, whose policy on top of it is tested here too).
#include <string>

#include <catch2/catch.hpp>

#include "http/callbacks.hpp"
#include "sjs/url.hpp"
#include "unit_helpers.hpp"

using sjs::ErrorCode;
using sjs::parse_url;
using sjs::Url;
using sjs::test::error_from;

namespace {

// The message of the Error parse_url throws for `text` (its code is always bad_request).
std::string why_bad(const std::string& text) {
  auto e = error_from([&] { parse_url(text); });
  CHECK(e.code() == ErrorCode::bad_request);
  return e.what();
}

}  // namespace

TEST_CASE("parse_url: scheme in any case, host, port defaulting to the scheme's, path, query and fragment", "[url]") {
  Url u = parse_url("http://example.com");
  CHECK_FALSE(u.tls);
  CHECK(u.host == "example.com");
  CHECK(u.port == 80);
  CHECK_FALSE(u.port_given);
  CHECK(u.path.empty());
  CHECK_FALSE(u.has_query);
  CHECK_FALSE(u.has_fragment);
  CHECK_FALSE(u.has_userinfo);
  CHECK(u.origin() == "http://example.com:80");

  u = parse_url("HTTPS://Example.com:8443/jobserver/api/?a=1&b=%20#top");
  CHECK(u.tls);
  CHECK(std::string(u.scheme()) == "https");
  CHECK(u.host == "Example.com");
  CHECK(u.port == 8443);
  CHECK(u.port_given);
  CHECK(u.path == "/jobserver/api/");
  CHECK(u.has_query);
  CHECK(u.query == "a=1&b=%20");  // as given: the caller sends it on
  CHECK(u.has_fragment);
  CHECK(u.host_port() == "Example.com:8443");

  CHECK(parse_url("https://h").port == 443);
  CHECK(parse_url("http://h:/x").port == 80);  // an empty port is the default
  u = parse_url("http://h?q");
  CHECK(u.path.empty());
  CHECK(u.query == "q");
  CHECK(parse_url("http://10.1.2.3:65535").port == 65535);
}

TEST_CASE("parse_url: an IPv6 host is given in brackets and kept without them, host_port puts them back", "[url]") {
  Url u = parse_url("http://[::1]:8090/p");
  CHECK(u.host == "::1");
  CHECK(u.port == 8090);
  CHECK(u.path == "/p");
  CHECK(u.host_port() == "[::1]:8090");
  CHECK(u.origin() == "http://[::1]:8090");
  u = parse_url("https://[2001:db8::7]");
  CHECK(u.host == "2001:db8::7");
  CHECK(u.port == 443);
  CHECK(parse_url("http://[fe80::1%25eth0]:1").host == "fe80::1%25eth0");  // a zone is kept as given
}

TEST_CASE("parse_url: user and password are percent-decoded, the last '@' ends them", "[url]") {
  Url u = parse_url("https://alice:p%40ss%3Aw%2Fd@host:1/");
  CHECK(u.has_userinfo);
  CHECK(u.user == "alice");
  CHECK(u.password == "p@ss:w/d");
  CHECK(u.host == "host");
  u = parse_url("http://bob@host");
  CHECK(u.user == "bob");
  CHECK(u.password.empty());
  u = parse_url("http://carol:a@b@host");  // an unencoded '@' in the password
  CHECK(u.user == "carol");
  CHECK(u.password == "a@b");
  CHECK(u.host == "host");
  u = parse_url("http://d%C3%A9sir%C3%A9e:%zz@[::1]");  // invalid escapes are kept
  CHECK(u.user == "d\xC3\xA9sir\xC3\xA9" "e");
  CHECK(u.password == "%zz");
  CHECK(u.host == "::1");
}

TEST_CASE("parse_url: a bad URL is Error(bad_request) saying what is wrong", "[url]") {
  CHECK(why_bad("ftp://h:1") == "the scheme must be http:// or https://");
  CHECK(why_bad("127.0.0.1:8090") == "the scheme must be http:// or https://");
  CHECK(why_bad("") == "the scheme must be http:// or https://");
  CHECK(why_bad("http//h") == "the scheme must be http:// or https://");
  CHECK(why_bad("http://") == "no host");
  CHECK(why_bad("http://:8090") == "no host");
  CHECK(why_bad("http://user@/x") == "no host");
  CHECK(why_bad("http://h:99999") == "the port must be 1 to 65535");
  CHECK(why_bad("http://h:0") == "the port must be 1 to 65535");
  CHECK(why_bad("http://h:123456") == "the port must be a number");
  CHECK(why_bad("http://h:80a") == "the port must be a number");
  CHECK(why_bad("http://h:-1") == "the port must be a number");
  CHECK(why_bad("http://h x:1") == "it contains a space or a control character");
  CHECK(why_bad("http://h:1/a\tb") == "it contains a space or a control character");
  CHECK(why_bad("http://[::1:8090") == "an IPv6 address needs its closing ']'");
  CHECK(why_bad("http://[::1]8090") == "unexpected text after the IPv6 address");
  CHECK(why_bad("http://[]:1") == "\"[]\" is not an IPv6 address");
  CHECK(why_bad("http://[example.com]:1") == "\"[example.com]\" is not an IPv6 address");
  CHECK(why_bad("http://::1:8090") == "an IPv6 address must be in brackets, as in http://[::1]:8090");
  CHECK(why_bad("http://h]:1") == "'[' or ']' outside an IPv6 address");
}

TEST_CASE("callback URLs: parse_url plus the callbacks' policy: no credentials, target with the query, no fragment",
          "[url]") {
  auto t = sjs::parse_callback_url("https://[::1]:9443/hook?job=1#frag");
  CHECK(t.tls);
  CHECK(t.host == "::1");
  CHECK(t.port == "9443");
  CHECK(t.target == "/hook?job=1");
  t = sjs::parse_callback_url("HTTP://cb.example");
  CHECK_FALSE(t.tls);
  CHECK(t.port == "80");
  CHECK(t.target == "/");
  CHECK(sjs::parse_callback_url("http://h?x=1").target == "/?x=1");

  auto creds = error_from([] { sjs::parse_callback_url("http://u:p@h/x"); });
  CHECK(creds.code() == ErrorCode::bad_request);
  CHECK(std::string(creds.what()) == "invalid callbackUrl \"http://u:p@h/x\": credentials in the URL are not supported");
  auto scheme = error_from([] { sjs::parse_callback_url("ftp://host/x"); });
  CHECK(scheme.code() == ErrorCode::bad_request);
  CHECK(std::string(scheme.what()) ==
        "invalid callbackUrl \"ftp://host/x\": the scheme must be http:// or https://");
}

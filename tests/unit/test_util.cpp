// common/util: the ids sjsd hands out.
#include <algorithm>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "sjs/errors.hpp"
#include "sjs/util.hpp"

using namespace sjs;

TEST_CASE("make_uuid gives random version-4 UUIDs", "[util]") {
  const std::regex v4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = make_uuid();
    REQUIRE(std::regex_match(id, v4));
    seen.insert(id);
  }
  REQUIRE(seen.size() == 1000);
}

TEST_CASE("make_time_uuid gives version-7 UUIDs that sort in the order they were made and carry the time",
          "[util]") {
  const std::regex v7("[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  const std::int64_t before = now_ms();
  std::vector<std::string> ids;
  for (int i = 0; i < 20000; ++i) ids.push_back(make_time_uuid());  // many per millisecond
  const std::int64_t after = now_ms();
  for (const auto& id : ids) REQUIRE(std::regex_match(id, v7));
  REQUIRE(std::set<std::string>(ids.begin(), ids.end()).size() == ids.size());
  REQUIRE(std::is_sorted(ids.begin(), ids.end()));
  // The first 48 bits are the Unix time in ms (a burst may borrow a few ms ahead).
  const auto ms = [](const std::string& id) { return std::stoll(id.substr(0, 8) + id.substr(9, 4), nullptr, 16); };
  REQUIRE(ms(ids.front()) >= before);
  REQUIRE(ms(ids.front()) <= after);
  REQUIRE(ms(ids.back()) >= ms(ids.front()));
  REQUIRE(ms(ids.back()) <= after + 20000 / 4096 + 1);
}

TEST_CASE("percent_decode decodes %XX, keeps invalid escapes, and turns + into a space only in queries", "[util]") {
  REQUIRE(percent_decode("a%20b%2Fc", false) == "a b/c");
  REQUIRE(percent_decode("a+b", false) == "a+b");
  REQUIRE(percent_decode("a+b", true) == "a b");
  REQUIRE(percent_decode("100%", false) == "100%");
  REQUIRE(percent_decode("%zz%4", false) == "%zz%4");
  REQUIRE(percent_decode("%e2%82%ac", false) == "\xe2\x82\xac");
}

TEST_CASE("ascii_lower and ascii_upper change ASCII letters only", "[util]") {
  REQUIRE(ascii_lower("Content-TYPE") == "content-type");
  REQUIRE(ascii_upper("finished") == "FINISHED");
  REQUIRE(ascii_lower("\xc3\x84X") == "\xc3\x84x");
}

TEST_CASE("json_nesting counts how deep arrays and objects nest, not brackets inside strings", "[util]") {
  CHECK(json_nesting("1") == 0);
  CHECK(json_nesting("{}") == 1);
  CHECK(json_nesting(R"({"a": [1, {"b": []}], "c": {}})") == 4);
  CHECK(json_nesting(R"({"a": "[[[[{{{{", "b": "\"[[[["})") == 1);
  CHECK(json_nesting(std::string(10000, '[') + std::string(10000, ']')) == k_max_json_depth + 1);  // stops counting
  CHECK(json_nesting(std::string(10000, '['), 20000) == 10000);
  check_json_nesting(std::string(512, '[') + std::string(512, ']'), "x");
  try {
    check_json_nesting(std::string(513, '[') + std::string(513, ']'), "the body");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::bad_request);
    CHECK(std::string(e.what()).find("the body nests arrays or objects more than 512 levels deep") != std::string::npos);
  }
}

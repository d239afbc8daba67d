#include <catch2/catch.hpp>

#include <string>
#include <thread>

#include "config.hpp"
#include "sjs/config.hpp"
#include "sjs/errors.hpp"
#include "sjs/hocon.hpp"
#include "unit_helpers.hpp"

using nlohmann::json;
using sjs::apply_conf_pair;
using sjs::apply_raw_setting;
using sjs::DaemonConfig;
using sjs::Error;
using sjs::ErrorCode;
using sjs::is_secret_key;
using sjs::merge_config;
using sjs::parse_config_text;
using sjs::redact_secrets;
using sjs::test::error_from;

namespace {

json expected(const char* text) {
  return json::parse(text);
}

json with_pair(json config, const std::string& pair) {
  apply_conf_pair(config, pair);
  return config;
}

json with_pair(const std::string& pair) {
  return with_pair(json::object(), pair);
}

}  // namespace

// ---------------------------------------------------------------- parse_config_text

TEST_CASE("config: parse_config_text reads JSON objects as JSON", "[config]") {
  CHECK(parse_config_text(R"({"a": {"b": [1, 2.5, "x"]}, "c": null, "d": "a b"})", "job.json") ==
        expected(R"({"a": {"b": [1, 2.5, "x"]}, "c": null, "d": "a b"})"));
  CHECK(parse_config_text("  \n {\"n\": 18446744073709551615}", "job.json") ==
        expected(R"({"n": 18446744073709551615})"));
}

TEST_CASE("config: parse_config_text reads HOCON when the text is not a JSON object", "[config]") {
  CHECK(parse_config_text("input.string = a b c\nn = 3\n", "job.conf") ==
        expected(R"({"input": {"string": "a b c"}, "n": 3})"));
  CHECK(parse_config_text("spark { master = \"local[2]\" }", "job.conf") ==
        expected(R"({"spark": {"master": "local[2]"}})"));
  // Starts with '{' but is HOCON, not JSON.
  CHECK(parse_config_text("{ a = 1, b.c = x }", "job.conf") == expected(R"({"a": 1, "b": {"c": "x"}})"));
  CHECK(parse_config_text("", "empty.conf") == json::object());
}

TEST_CASE("config: a parse error is bad_request naming the origin, line and column", "[config]") {
  Error e = error_from([] { parse_config_text("a = 1\nb = ${undefined}\n", "/etc/job.conf"); });
  CHECK(e.code() == ErrorCode::bad_request);
  const std::string what = e.what();
  INFO("what(): " << what);
  CHECK_THAT(what, Catch::StartsWith("/etc/job.conf: line 2, column "));

  // The position is the HOCON parser's own, carried through unchanged.
  int line = 0, column = 0;
  try {
    sjs::parse_hocon("x {\n  y = [1,\n");
  } catch (const sjs::HoconError& h) {
    line = h.line;
    column = h.column;
  }
  REQUIRE(line > 0);
  Error unterminated = error_from([] { parse_config_text("x {\n  y = [1,\n", "settings"); });
  CHECK(unterminated.code() == ErrorCode::bad_request);
  CHECK_THAT(unterminated.what(),
             Catch::StartsWith("settings: line " + std::to_string(line) + ", column " + std::to_string(column) + ":"));

  // Broken JSON is reported too (it goes through the HOCON parser, which refuses it as well).
  Error broken_json = error_from([] { parse_config_text(R"({"a": })", "job.json"); });
  CHECK(broken_json.code() == ErrorCode::bad_request);
  CHECK_THAT(broken_json.what(), Catch::StartsWith("job.json: line 1, column "));
}

// ---------------------------------------------------------------- apply_conf_pair

TEST_CASE("config: `input.string=a b c` becomes a nested string", "[config]") {
  CHECK(with_pair("input.string=a b c") == expected(R"({"input": {"string": "a b c"}})"));
}

TEST_CASE("config: conf pair values are typed like HOCON", "[config]") {
  CHECK(with_pair("n=42") == expected(R"({"n": 42})"));
  CHECK(with_pair("n=-7") == expected(R"({"n": -7})"));
  CHECK(with_pair("x=2.5") == expected(R"({"x": 2.5})"));
  CHECK(with_pair("flag=true") == expected(R"({"flag": true})"));
  CHECK(with_pair("nothing=null") == expected(R"({"nothing": null})"));
  CHECK(with_pair("list=[1, 2, x]") == expected(R"({"list": [1, 2, "x"]})"));
  CHECK(with_pair("quoted=\"42\"") == expected(R"({"quoted": "42"})"));
  CHECK(with_pair("obj={ a = 1 }") == expected(R"({"obj": {"a": 1}})"));
  CHECK(with_pair("mem=512m") == expected(R"({"mem": "512m"})"));
}

TEST_CASE("config: HOCON's spacing around '=' is not part of the key or the value", "[config]") {
  CHECK(with_pair("input.string = a b c") == expected(R"({"input": {"string": "a b c"}})"));
  CHECK(with_pair("  n\t=  42") == expected(R"({"n": 42})"));
  CHECK(with_pair("k = ") == expected(R"({"k": ""})"));
  CHECK_THROWS_AS(with_pair("  = 1"), sjs::Error);
}

TEST_CASE("config: `k=` sets the empty string", "[config]") {
  CHECK(with_pair("k=") == expected(R"({"k": ""})"));
  CHECK(with_pair("a.b=") == expected(R"({"a": {"b": ""}})"));
}

TEST_CASE("config: conf pair keys split on dots only, other characters are literal", "[config]") {
  CHECK(with_pair("spark.executor-memory=2g") == expected(R"({"spark": {"executor-memory": "2g"}})"));
  CHECK(with_pair("my key=1") == expected(R"({"my key": 1})"));
  CHECK(with_pair("a:b=1") == expected(R"({"a:b": 1})"));
  CHECK(with_pair("q\"uote=1") == expected(R"({"q\"uote": 1})"));
  // Only the first '=' separates; the rest is the value (in HOCON syntax, so an '=' in it is quoted).
  CHECK(with_pair("expr=\"a=b\"") == expected(R"({"expr": "a=b"})"));
}

TEST_CASE("config: conf pairs merge into the existing config", "[config]") {
  json config = expected(R"({"input": {"other": 1, "string": "old"}, "keep": true})");
  apply_conf_pair(config, "input.string=new");
  apply_conf_pair(config, "input.n=2");
  CHECK(config == expected(R"({"input": {"other": 1, "string": "new", "n": 2}, "keep": true})"));
}

TEST_CASE("config: malformed conf pairs are bad_request quoting the pair", "[config]") {
  for (const char* pair : {"novalue", "=value", "", "a..b=1", ".a=1", "a.=1", "x=[1, 2", "x=${y}"}) {
    INFO("pair: [" << pair << "]");
    json config = expected(R"({"untouched": 1})");
    Error e = error_from([&] { apply_conf_pair(config, pair); });
    CHECK(e.code() == ErrorCode::bad_request);
    CHECK_THAT(e.what(), Catch::Contains(std::string("\"") + pair + "\""));
    CHECK(config == expected(R"({"untouched": 1})"));
  }
}

// ---------------------------------------------------------------- merge_config

TEST_CASE("config: merge_config merges objects deeply and replaces everything else", "[config]") {
  json base = expected(R"({"a": {"b": 1, "c": {"d": 2, "e": 3}}, "list": [1, 2], "s": "x", "o": {"p": 1}})");
  merge_config(base, expected(R"({"a": {"c": {"e": 30, "f": 40}, "g": 5}, "list": [9], "s": {"now": "obj"},
                                  "o": 7, "new": null})"));
  CHECK(base == expected(R"({"a": {"b": 1, "c": {"d": 2, "e": 30, "f": 40}, "g": 5}, "list": [9],
                             "s": {"now": "obj"}, "o": 7, "new": null})"));

  json empty_overlay = expected(R"({"a": 1})");
  merge_config(empty_overlay, json::object());
  CHECK(empty_overlay == expected(R"({"a": 1})"));

  json not_object = expected("[1]");
  merge_config(not_object, expected(R"({"a": 1})"));
  CHECK(not_object == expected(R"({"a": 1})"));
}

// ---------------------------------------------------------------- secrets

TEST_CASE("config: is_secret_key matches secret-looking names case-insensitively", "[config]") {
  for (const char* key : {"password", "db_password", "DB.PASSWORD", "passwd", "clientSecret", "secret-key", "api_token",
                          "Token", "access_key", "aws-access-key-id", "awsAccessKeyId", "fs.s3a.access.key",
                          "private_key", "ssh-private-key", "credentials", "GOOGLE_CREDENTIAL"}) {
    INFO("key: " << key);
    CHECK(is_secret_key(key));
  }
  for (const char* key :
       {"user", "username", "name", "key", "access", "private", "input.string", "memory", "", "pass", "word"}) {
    INFO("key: " << key);
    CHECK_FALSE(is_secret_key(key));
  }
}

TEST_CASE("config: redact_secrets hides secret values at any depth and leaves the rest alone", "[config]") {
  const json config = expected(R"({
    "user": "alice",
    "Password": "hunter2",
    "db": {"host": "h", "port": 5432, "db_password": "pw", "API-TOKEN": 12345},
    "servers": [{"name": "a", "secret": "s1"}, {"name": "b", "Secret": ["x", "y"]}, "plain", 3],
    "tokens": ["t1", "t2"],
    "count": 3,
    "nothing": null
  })");
  const json before = config;
  const json red = redact_secrets(config);
  CHECK(config == before);  // a copy: the input is untouched
  CHECK(red == expected(R"({
    "user": "alice",
    "Password": "********",
    "db": {"host": "h", "port": 5432, "db_password": "********", "API-TOKEN": "********"},
    "servers": [{"name": "a", "secret": "********"}, {"name": "b", "Secret": "********"}, "plain", 3],
    "tokens": "********",
    "count": 3,
    "nothing": null
  })"));
  CHECK(std::string(sjs::k_redacted) == "********");

  const json plain = expected(R"({"input": {"string": "a b c"}, "n": [1, {"m": 2}]})");
  CHECK(redact_secrets(plain) == plain);
  CHECK(redact_secrets(json("text")) == json("text"));
}

TEST_CASE("config: secrets written as dotted HOCON paths are redacted too", "[config]") {
  // `fs.s3a.secret.key = X` parses to nested objects {"fs":{"s3a":{"secret":{"key":"X"}}}}: the
  // secret is named by the path, not by one key.
  const json config = parse_config_text(
      "spark.hadoop.fs.s3a.access.key = AKIAEXAMPLE\n"
      "spark.hadoop.fs.s3a.secret.key = s3cr3t\n"
      "spark.hadoop.fs.s3a.endpoint = example.com\n"
      "credentials { user = bob, pin = 1234 }\n",
      "job.conf");
  const json red = redact_secrets(config);
  const json& s3a = red.at("spark").at("hadoop").at("fs").at("s3a");
  CHECK(s3a.at("access").at("key") == sjs::k_redacted);
  CHECK(s3a.at("secret").at("key") == sjs::k_redacted);
  CHECK(s3a.at("endpoint") == "example.com");
  CHECK(red.at("credentials").at("user") == sjs::k_redacted);
  CHECK(red.at("credentials").at("pin") == sjs::k_redacted);
  CHECK(red.dump().find("s3cr3t") == std::string::npos);
  CHECK(red.dump().find("AKIAEXAMPLE") == std::string::npos);
}

// ---------------------------------------------------------------- DaemonConfig

TEST_CASE("config: DaemonConfig::apply reads every documented key", "[config]") {
  DaemonConfig c;
  c.apply(parse_config_text(R"(
shutdown.grace-seconds = 2
kill.grace-seconds = 1.5
retention { max-jobs = 5, max-age-days = 0.5, interval-seconds = 0.2 }
adhoc.max-jobs = 3
adhoc.max-queue = 9
context.max-jobs = 4
store.map-size-mb = 64
store.max-result-bytes = 1000
log.level = debug
)",
                            "sjsd.conf"),
          "sjsd.conf");
  CHECK(c.shutdown_grace_s == 2);
  CHECK(c.kill_grace_s == 1.5);
  CHECK(c.retention_max_jobs == 5);
  CHECK(c.retention_max_age_days == 0.5);
  CHECK(c.retention_interval_s == 0.2);
  CHECK(c.adhoc_max_jobs == 3);
  CHECK(c.adhoc_max_queue == 9);
  CHECK(c.context_max_jobs == 4);
  CHECK(c.store_map_size_mb == 64);
  CHECK(c.max_result_bytes == 1000);
  CHECK(c.log_level == "debug");
}

TEST_CASE("config: DaemonConfig::apply keeps defaults for absent keys and fills in automatic values", "[config]") {
  const DaemonConfig defaults;
  DaemonConfig c;
  c.apply(json::object(), "sjsd.conf");
  CHECK(c.shutdown_grace_s == defaults.shutdown_grace_s);
  CHECK(c.kill_grace_s == defaults.kill_grace_s);
  CHECK(c.retention_max_jobs == defaults.retention_max_jobs);
  CHECK(c.context_max_jobs == defaults.context_max_jobs);
  CHECK(c.log_level == defaults.log_level);
  // adhoc.max-jobs = 0 means the number of cores, at least 2.
  CHECK(c.adhoc_max_jobs >= 2);
  CHECK(c.adhoc_max_jobs >= static_cast<int>(std::thread::hardware_concurrency()));

  DaemonConfig z;
  z.apply(expected(R"({"context": {"max-jobs": 0}, "retention": {"interval-seconds": 0}})"), "sjsd.conf");
  CHECK(z.context_max_jobs == 1);
  CHECK(z.retention_interval_s > 0);
}

TEST_CASE("config: DaemonConfig::apply rejects a negative or non-number value naming the key", "[config]") {
  struct Bad {
    const char* text;
    const char* key;
  };
  for (const Bad& bad :
       {Bad{"retention.max-jobs = -1", "retention.max-jobs"}, Bad{"kill.grace-seconds = soon", "kill.grace-seconds"},
        Bad{"adhoc.max-jobs = [1]", "adhoc.max-jobs"}, Bad{"shutdown.grace-seconds = -0.5", "shutdown.grace-seconds"},
        Bad{"store.map-size-mb = true", "store.map-size-mb"}, Bad{"context.max-jobs = \"8\"", "context.max-jobs"}}) {
    INFO("conf: " << bad.text);
    DaemonConfig c;
    Error e = error_from([&] { c.apply(parse_config_text(bad.text, "/data/sjsd.conf"), "/data/sjsd.conf"); });
    CHECK(e.code() == ErrorCode::bad_request);
    CHECK_THAT(e.what(), Catch::StartsWith("/data/sjsd.conf: "));
    CHECK_THAT(e.what(), Catch::Contains(bad.key));
  }
  DaemonConfig c;
  Error level = error_from([&] { c.apply(expected(R"({"log": {"level": 3}})"), "sjsd.conf"); });
  CHECK(level.code() == ErrorCode::bad_request);
  CHECK_THAT(level.what(), Catch::Contains("log.level"));
}

TEST_CASE("apply_raw_setting types a query value as HOCON types an unquoted one, at its dotted path", "[config]") {
  nlohmann::json c = nlohmann::json::object();
  apply_raw_setting(c, "num-cpu-cores", "2");
  apply_raw_setting(c, "spark.executor.memory", "512m");
  apply_raw_setting(c, "spark.master", "local[4]");
  apply_raw_setting(c, "ratio", "1.5");
  apply_raw_setting(c, "flag", "true");
  apply_raw_setting(c, "spark.executor.cores", "3");
  REQUIRE(c["num-cpu-cores"] == 2);
  REQUIRE(c["spark"]["executor"]["memory"] == "512m");
  REQUIRE(c["spark"]["executor"]["cores"] == 3);
  REQUIRE(c["spark"]["master"] == "local[4]");
  REQUIRE(c["ratio"] == 1.5);
  REQUIRE(c["flag"] == true);
  apply_raw_setting(c, "spark", "plain");  // a scalar replaces the object, as a later query key would
  REQUIRE(c["spark"] == "plain");
}

// The runtime table (sjs/runtimes.hpp) and its daemon half (daemon/runtimes/registry.cpp),
// walked entry by entry: every promise an entry makes is kept by the code that asks it.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include <boost/asio/io_context.hpp>

#include "blobs.hpp"
#include "runtimes/runtime.hpp"
#include "sjs/errors.hpp"
#include "sjs/runtimes.hpp"
#include "unit_helpers.hpp"

using nlohmann::json;
using namespace sjs;
using sjs::test::error_from;

namespace {

// A value each kind refuses.
json garbage_for(SettingKind kind) {
  return kind == SettingKind::text ? json::array({1, 2}) : json("lots of garbage!");
}

// The example of a setting as a context's settings: "env." with "hi" -> {"env.EXAMPLE": "hi"} nested.
json settings_with(const SettingSpec& s, const json& value) {
  const std::string key = s.key.back() == '.' ? s.key + "EXAMPLE" : s.key;
  json out = json::object();
  out[json::json_pointer("/" + [&] {
    std::string p = key;
    for (auto& c : p) if (c == '.') c = '/';
    return p;
  }())] = value;
  return out;
}

// A setting's example as JSON: digits as a number (as HOCON types them), else a string.
json example_value(const SettingSpec& s) {
  if (!s.example.empty() && s.example.find_first_not_of("0123456789") == std::string::npos) {
    return json(std::stoll(s.example));
  }
  return json(s.example);
}

}  // namespace

TEST_CASE("runtime table: names are unique, built runtimes have exactly one launcher, planned ones none", "[runtimes]") {
  std::set<std::string> names;
  for (const auto& r : runtime_table()) {
    INFO("runtime " << r.name);
    CHECK(names.insert(r.name).second);
    CHECK(!r.summary.empty());
    CHECK(!r.binary_types.empty());
    CHECK((find_launcher(r.name) != nullptr) == r.built);
    CHECK(is_known_runtime(r.name) == r.built);
    if (r.entry_required) {
      CHECK(!r.entry_means.empty());
      CHECK(!r.entry_example.empty());
    }
  }
  for (const auto& l : runtime_launchers()) {
    INFO("launcher " << l.runtime);
    REQUIRE(find_runtime(l.runtime));
    CHECK(find_runtime(l.runtime)->built);
    CHECK(l.make);
    CHECK(l.resolve);
    CHECK(l.available);
  }
  CHECK(default_context_runtime().built);
  CHECK_FALSE(is_known_runtime("nosuch"));
  CHECK(list_words(runtime_names()) == "exec, jvm, spark, python or pyspark");
  CHECK(list_words(runtime_names(), "") == "exec, jvm, spark, python, pyspark");
  CHECK(list_words(runtimes_with(runtime_cap::k_steps)) == "jvm, spark, python or pyspark");
}

TEST_CASE("runtime table: every runtime's binary types are in the binary type table, and every binary type has "
          "default runtimes that run it (or says none with an empty list)",
          "[runtimes]") {
  std::set<std::string> types;
  for (const auto& t : binary_type_table()) {
    INFO("binary type " << t.name);
    CHECK(types.insert(t.name).second);
    CHECK(is_binary_type(t.name));
    CHECK(!t.summary.empty());
    CHECK(!t.detect.empty());
    CHECK(!t.accepts.empty());
    CHECK(!t.must_be.empty());
    CHECK(!t.http_label.empty());
    CHECK(!t.http_uploads.empty());
    for (const auto& name : t.default_runtimes) {
      const RuntimeSpec* r = find_runtime(name);
      REQUIRE(r);
      CHECK(runs(*r, t.name));
    }
    // The ad-hoc default: a runtime that runs it, whatever is available.
    const std::string chosen = default_runtime_for(t.name, [](const RuntimeSpec&) { return false; });
    if (t.default_runtimes.empty()) {
      CHECK(chosen.empty());
    } else {
      REQUIRE(find_runtime(chosen));
      CHECK(runs(*find_runtime(chosen), t.name));
    }
    // Each upload Content-Type maps back to this type, and each detection rule's own content fits it.
    for (const auto& u : t.http_uploads) {
      for (const auto& ct : u.content_types) {
        auto k = http_upload_kind(ct + "; charset=x");
        REQUIRE(k);
        CHECK(k->type == t.name);
      }
    }
    for (const auto& rule : t.detect) {
      CHECK(std::find(t.accepts.begin(), t.accepts.end(), rule.content) != t.accepts.end());
    }
    CHECK(http_binary_label(t.name) == t.http_label);
  }
  for (const auto& r : runtime_table()) {
    for (const auto& t : r.binary_types) CHECK(find_binary_type(t));
  }
  CHECK(find_binary_type(http_jars_type()));
  CHECK(http_jars_upload().type == http_jars_type());
  CHECK_FALSE(http_upload_kind("text/plain"));
}

TEST_CASE("runtime table: every setting validates its documented example and refuses garbage, both alone and as a "
          "context's settings",
          "[runtimes]") {
  for (const auto& r : runtime_table()) {
    for (const auto& s : r.settings) {
      INFO("runtime " << r.name << ", setting " << s.key);
      CHECK(!s.doc.empty());
      CHECK(!s.example.empty());
      CHECK(find_setting(r, s.key.back() == '.' ? s.key + "EXAMPLE" : s.key) == &s);
      CHECK(check_setting_value(s.kind, example_value(s)) == "");
      CHECK(check_setting_value(s.kind, json(s.example)) == "");  // as --set text too
      CHECK_NOTHROW(check_context_settings(r, settings_with(s, example_value(s))));
      if (s.kind == SettingKind::any) continue;
      CHECK(check_setting_value(s.kind, garbage_for(s.kind)) != "");
      Error e = error_from([&] { check_context_settings(r, settings_with(s, garbage_for(s.kind))); });
      CHECK(e.code() == ErrorCode::bad_request);
      CHECK_THAT(e.what(), Catch::Contains("\"" + (s.key.back() == '.' ? s.key + "EXAMPLE" : s.key) + "\""));
      CHECK_THAT(e.what(), Catch::Contains(s.example));
    }
  }
}

TEST_CASE("check_context_settings: an unknown key is refused naming it and listing what the runtime accepts",
          "[runtimes]") {
  const RuntimeSpec& jvm = *find_runtime("jvm");
  Error e = error_from([&] { check_context_settings(jvm, json{{"colour", "blue"}}); });
  CHECK(e.code() == ErrorCode::bad_request);
  CHECK_THAT(e.what(), Catch::Contains("\"colour\""));
  CHECK_THAT(e.what(), Catch::Contains("memory"));
  CHECK_THAT(e.what(), Catch::Contains("env.*"));
  // Nested keys are checked by their dotted name.
  Error nested = error_from([&] { check_context_settings(jvm, json{{"memory", {{"max", "1g"}}}}); });
  CHECK_THAT(nested.what(), Catch::Contains("\"memory.max\""));
  // Not an object at all.
  CHECK(error_from([&] { check_context_settings(jvm, json::array()); }).code() == ErrorCode::bad_request);
  // spark-jobserver's context settings are accepted (ignored) by jvm, as over HTTP.
  CHECK_NOTHROW(check_context_settings(jvm, json{{"num-cpu-cores", 2},
                                                  {"memory-per-node", "512m"},
                                                  {"context-factory", "spark.jobserver.context.SessionContextFactory"},
                                                  {"spark", {{"executor", {{"cores", 3}}}}},
                                                  {"launcher", {{"spark.driver.memory", "1g"}}},
                                                  {"dependent-jar-uris", json::array({"a.jar"})}}));
}

TEST_CASE("setting kinds: sizes, counts and text", "[runtimes]") {
  using K = SettingKind;
  for (const char* ok : {"512m", "2g", "2G", "1024", "1t", "64k"}) CHECK(check_setting_value(K::jvm_size, ok) == "");
  for (const char* bad : {"lots", "2gb", "m", "-1g", "1.5g", ""}) CHECK(check_setting_value(K::jvm_size, bad) != "");
  for (const char* ok : {"512m", "2gb", "1PB", "100b"}) CHECK(check_setting_value(K::spark_size, ok) == "");
  CHECK(check_setting_value(K::spark_size, "2x") != "");
  CHECK(check_setting_value(K::count, 4) == "");
  CHECK(check_setting_value(K::count, "8") == "");
  CHECK(check_setting_value(K::count, 0) != "");
  CHECK(check_setting_value(K::count, 2.5) != "");
  CHECK(check_setting_value(K::whole_number, 0) == "");
  CHECK(check_setting_value(K::whole_number, -1) != "");
  CHECK(check_setting_value(K::whole_number, true) != "");
  CHECK(check_setting_value(K::text, "-Xss2m") == "");
  CHECK(check_setting_value(K::text, "") != "");
  CHECK(check_setting_value(K::text, json::object()) != "");
  CHECK(check_setting_value(K::text, nullptr) != "");
}

TEST_CASE("default runtimes: a jar runs on spark when Spark is available, else jvm - exec on exec - py, wheel and "
          "egg on python - so on a runtime this build does not have yet",
          "[runtimes]") {
  LaunchPaths no_spark = default_launch_paths();
  LaunchPaths with_spark = no_spark;
  with_spark["spark.home"] = "/opt/spark";
  CHECK(default_runtime_for(http_jars_type(), no_spark) == "jvm");
  CHECK(default_runtime_for(http_jars_type(), with_spark) == "spark");
  for (const auto& t : binary_type_table()) {
    const std::string chosen = default_runtime_for(t.name, no_spark);
    INFO(t.name << " -> " << chosen);
    if (is_known_runtime(chosen)) CHECK(runs(*find_runtime(chosen), t.name));
  }
  CHECK(default_runtime_for("nosuch", no_spark) == "");
}

TEST_CASE("context factories, ENTRY and hello's runtime names come from the table", "[runtimes]") {
  for (const auto& name : runtime_names(false)) CHECK(runtime_for_context_factory(name)->name == name);
  CHECK(runtime_for_context_factory("JVM")->name == "jvm");
  // A Python factory asks for Python: pyspark where sjsd has a Spark home, else python.
  auto spark_here = [](const RuntimeSpec&) { return true; };
  auto no_spark_here = [](const RuntimeSpec& r) { return !has_capability(r, runtime_cap::k_spark); };
  CHECK(runtime_for_context_factory("spark.jobserver.python.PythonSessionContextFactory", no_spark_here)->name ==
        "python");
  CHECK(runtime_for_context_factory("spark.jobserver.python.PythonSQLContextFactory", spark_here)->name == "pyspark");
  CHECK(runtime_for_context_factory("spark.jobserver.python.PythonSparkContextFactory", spark_here)->name == "pyspark");
  CHECK(runtime_for_context_factory("spark.jobserver.context.DefaultSparkContextFactory") == nullptr);

  // A type every runtime of which needs an ENTRY: the message says what ENTRY is.
  for (const auto& t : binary_type_table()) {
    bool needs = false, any = false;
    for (const auto& r : runtime_table()) {
      if (!runs(r, t.name)) continue;
      needs = any ? needs && r.entry_required : r.entry_required;
      any = true;
    }
    const std::string msg = missing_entry_message(t.name, "wc");
    INFO(t.name << ": " << msg);
    CHECK(msg.empty() == !needs);
  }
  CHECK_THAT(missing_entry_message(http_jars_type(), "wc"), Catch::Contains("sjs job submit wc com.example.MyJob"));
}

TEST_CASE("check_new_context: unknown and planned runtimes are refused listing the built ones - spark without a "
          "Spark home is refused naming spark.home",
          "[runtimes]") {
  RuntimeOptions o;
  o.launch = default_launch_paths();
  o.launch["spark.home"] = "";
  Error unknown = error_from([&] { check_new_context("nosuch", json::object(), o); });
  CHECK(unknown.code() == ErrorCode::bad_request);
  CHECK_THAT(unknown.what(), Catch::Contains("exec, jvm, spark, python or pyspark"));
  for (const auto& r : runtime_table()) {
    if (r.built) continue;
    Error planned = error_from([&] { check_new_context(r.name, json::object(), o); });
    CHECK_THAT(planned.what(), Catch::Contains("not available in this build"));
  }
  Error spark = error_from([&] { check_new_context("spark", json::object(), o); });
  CHECK(spark.code() == ErrorCode::bad_request);
  CHECK_THAT(spark.what(), Catch::Contains("spark.home"));
  CHECK_NOTHROW(check_new_context("spark", json{{"spark-home", "/opt/spark"}}, o));
  CHECK_NOTHROW(check_new_context("jvm", json{{"memory", "1g"}}, o));
  CHECK(error_from([&] { check_new_context("jvm", json{{"memory", "lots"}}, o); }).code() == ErrorCode::bad_request);
}

TEST_CASE("launch paths: every launcher's sjsd.conf keys exist with defaults, resolving fills the JVM's", "[runtimes]") {
  LaunchPaths paths = default_launch_paths();
  for (const auto& l : runtime_launchers()) {
    for (const auto& key : l.conf_keys) {
      INFO(l.runtime << ": " << key);
      CHECK(paths.count(key) == 1);
      CHECK(key.find('.') != std::string::npos);  // section.key, as in sjsd.conf
    }
  }
  CHECK(paths["spark.master"] == "local[*]");
  resolve_launch_paths(paths);
  CHECK(!paths["jvm.java"].empty());
  CHECK(!paths["jvm.runner-jar"].empty());
}

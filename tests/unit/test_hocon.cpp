#include <catch2/catch.hpp>

#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "sjs/hocon.hpp"

using nlohmann::json;
using sjs::HoconError;
using sjs::parse_hocon;

namespace {

json expected(const char* json_text) { return json::parse(json_text); }

// The HoconError thrown by parse_hocon(text); fails the test if none is thrown.
HoconError hocon_error(const std::string& text) {
  try {
    json parsed = parse_hocon(text);
    FAIL("expected a HoconError for input [" << text << "], got " << parsed.dump());
  } catch (const HoconError& e) {
    return e;
  }
  throw std::logic_error("unreachable");
}

HoconError form_error(const std::string& text) {
  try {
    json parsed = sjs::parse_form_config(text);
    FAIL("expected a HoconError for form input [" << text << "], got " << parsed.dump());
  } catch (const HoconError& e) {
    return e;
  }
  throw std::logic_error("unreachable");
}

void check_error(const std::string& text, int line, int column, const std::string& message_part) {
  INFO("input: [" << text << "]");
  HoconError e = hocon_error(text);
  INFO("what(): " << e.what());
  CHECK(e.line == line);
  CHECK(e.column == column);
  CHECK(std::string(e.what()).find(message_part) != std::string::npos);
  CHECK(std::string(e.what()).rfind("line " + std::to_string(line) + ", column " + std::to_string(column) + ": ", 0) ==
        0);
}

}  // namespace

// ---------------------------------------------------------------- valid input

TEST_CASE("hocon: empty input, whitespace and comments only give an empty object", "[hocon]") {
  CHECK(parse_hocon("") == json::object());
  CHECK(parse_hocon("   \n\t\r\n") == json::object());
  CHECK(parse_hocon("# only a comment\n// another\n") == json::object());
  CHECK(parse_hocon("{}") == json::object());
  CHECK(parse_hocon(" { } \n") == json::object());
  CHECK(parse_hocon("\xEF\xBB\xBF") == json::object());
}

TEST_CASE("hocon: spark-jobserver style `input.string = a b c` is a nested string", "[hocon]") {
  CHECK(parse_hocon("input.string = a b c") == expected(R"({"input":{"string":"a b c"}})"));
  CHECK(parse_hocon("input.string = a b c\n") == expected(R"({"input":{"string":"a b c"}})"));
  CHECK(parse_hocon("input.string: \"a b c\"") == expected(R"({"input":{"string":"a b c"}})"));
  CHECK(parse_hocon("input.string = a b c   \r\n") == expected(R"({"input":{"string":"a b c"}})"));
}

TEST_CASE("hocon: dotted unquoted keys create nested objects", "[hocon]") {
  CHECK(parse_hocon("a.b.c = 1") == expected(R"({"a":{"b":{"c":1}}})"));
  CHECK(parse_hocon("a.b.c = 1\na.b.d = 2\na.e = x") == expected(R"({"a":{"b":{"c":1,"d":2},"e":"x"}})"));
  CHECK(parse_hocon("spark-conf.spark_executor-1 = 4") == expected(R"({"spark-conf":{"spark_executor-1":4}})"));
}

TEST_CASE("hocon: nested blocks need no separator before '{'", "[hocon]") {
  const char* text = R"(
spark {
  master = "local[4]"
  context-settings {
    num-cpu-cores = 2
    memory-per-node: 512m
  }
}
)";
  CHECK(parse_hocon(text) ==
        expected(R"({"spark":{"master":"local[4]","context-settings":{"num-cpu-cores":2,"memory-per-node":"512m"}}})"));
  CHECK(parse_hocon("a = { b = 1 }") == expected(R"({"a":{"b":1}})"));
  CHECK(parse_hocon("a : { b : 1 }") == expected(R"({"a":{"b":1}})"));
  CHECK(parse_hocon("a.b { c = 1 }") == expected(R"({"a":{"b":{"c":1}}})"));
  CHECK(parse_hocon("a {}") == expected(R"({"a":{}})"));
}

TEST_CASE("hocon: dotted keys merge with blocks and duplicate objects merge recursively", "[hocon]") {
  CHECK(parse_hocon("a.b = 1\na { c = 2 }") == expected(R"({"a":{"b":1,"c":2}})"));
  CHECK(parse_hocon("a { c = 2 }\na.b = 1") == expected(R"({"a":{"b":1,"c":2}})"));
  CHECK(parse_hocon("a { x { p = 1, q = 2 } }\na { x { q = 3, r = 4 }, y = 5 }") ==
        expected(R"({"a":{"x":{"p":1,"q":3,"r":4},"y":5}})"));
}

TEST_CASE("hocon: a duplicate key whose values are not both objects takes the later value", "[hocon]") {
  CHECK(parse_hocon("a = 1\na = 2") == expected(R"({"a":2})"));
  CHECK(parse_hocon("a { b = 1 }\na = 5") == expected(R"({"a":5})"));
  CHECK(parse_hocon("a = 5\na.b = 1") == expected(R"({"a":{"b":1}})"));
  CHECK(parse_hocon("a = [1]\na = [2, 3]") == expected(R"({"a":[2,3]})"));
  CHECK(parse_hocon("a { x = 1 }\na = 5\na { y = 2 }") == expected(R"({"a":{"y":2}})"));
}

TEST_CASE("hocon: the root object may be enclosed in braces", "[hocon]") {
  CHECK(parse_hocon("{ a = 1, b { c = x } }") == expected(R"({"a":1,"b":{"c":"x"}})"));
  CHECK(parse_hocon("# header\n{\n  a = 1\n}\n# trailer\n") == expected(R"({"a":1})"));
}

TEST_CASE("hocon: plain JSON documents parse as JSON", "[hocon]") {
  const char* text = R"({
  "name": "job",
  "n": -12,
  "big": 18446744073709551615,
  "x": 2.5e-3,
  "ok": true,
  "none": null,
  "list": [1, "two", {"three": [3]}, []],
  "nested": {"a.b": {"c": "\u00e9\n"}}
})";
  CHECK(parse_hocon(text) == json::parse(text));
  CHECK(parse_hocon(R"({"a":{"b":[1,2,3]},"c":"d"})") == expected(R"({"a":{"b":[1,2,3]},"c":"d"})"));
}

TEST_CASE("hocon: arrays may span lines with newlines or commas between elements", "[hocon]") {
  CHECK(parse_hocon("a = [1, 2, \"x\", {a=1}]") == expected(R"({"a":[1,2,"x",{"a":1}]})"));
  CHECK(parse_hocon("a = [\n  1\n  2,\n  3\n]") == expected(R"({"a":[1,2,3]})"));
  CHECK(parse_hocon("a = [\n  1,\n  2,\n]") == expected(R"({"a":[1,2]})"));
  CHECK(parse_hocon("a = [foo bar, baz]") == expected(R"({"a":["foo bar","baz"]})"));
  CHECK(parse_hocon("a = [[1, 2], [], [[3]]]") == expected(R"({"a":[[1,2],[],[[3]]]})"));
  CHECK(parse_hocon("a = [ # first\n 1 // one\n]") == expected(R"({"a":[1]})"));
  CHECK(parse_hocon("a = []") == expected(R"({"a":[]})"));
}

TEST_CASE("hocon: '#' and '//' comments run to the end of the line", "[hocon]") {
  const char* text =
      "# leading\n"
      "a = 1 # after a number\n"
      "b = two words // after a string\n"
      "// whole line\n"
      "c { # after a brace\n"
      "  d = \"# not a comment\" # but this is\n"
      "  e = \"// nor this\"\n"
      "}\n"
      "f = x/y\n";
  CHECK(parse_hocon(text) ==
        expected(R"({"a":1,"b":"two words","c":{"d":"# not a comment","e":"// nor this"},"f":"x/y"})"));
  CHECK(parse_hocon("a = b//c") == expected(R"({"a":"b"})"));
}

TEST_CASE("hocon: quoted keys are single keys even with dots, mixed paths split only unquoted dots", "[hocon]") {
  CHECK(parse_hocon("\"a.b\" = 1") == expected(R"({"a.b":1})"));
  CHECK(parse_hocon("a.\"b.c\".d = 1") == expected(R"({"a":{"b.c":{"d":1}}})"));
  CHECK(parse_hocon("\"\" = empty") == expected(R"({"":"empty"})"));
  CHECK(parse_hocon("\"a b\".c = 1") == expected(R"({"a b":{"c":1}})"));
  CHECK(parse_hocon("foo bar = 1") == expected(R"({"foo bar":1})"));
  CHECK(parse_hocon("\"key\\twith\\\"escapes\" = 1") == expected(R"({"key\twith\"escapes":1})"));
}

TEST_CASE("hocon: triple-quoted strings are raw and may span lines", "[hocon]") {
  CHECK(parse_hocon("a = \"\"\"raw \\n \"quoted\"\n second line\"\"\"") ==
        json{{"a", "raw \\n \"quoted\"\n second line"}});
  CHECK(parse_hocon("a = \"\"\"x\"\"\"\"") == json{{"a", "x\""}});
  CHECK(parse_hocon("a = \"\"\"\"\"\"") == json{{"a", ""}});
  CHECK(parse_hocon("a = \"\"") == json{{"a", ""}});
}

TEST_CASE("hocon: numbers, true/false/null are typed, yes/no/on/off stay strings", "[hocon]") {
  json j = parse_hocon(
      "i = 42\nneg = -7\nzero = 0\nf = 1.5\ne = 1e3\nep = 1e+5\nen = -2.5E-2\n"
      "big = 123456789012345678901234567890\nt = true\nfl = false\nn = null\n"
      "y = yes\nno = no\non = on\noff = off\nver = 1.2.3\nlead = 01\nqn = \"42\"\nqt = \"true\"\n");
  CHECK(j["i"].is_number_integer());
  CHECK(j["i"] == 42);
  CHECK(j["neg"] == -7);
  CHECK(j["zero"] == 0);
  CHECK(j["f"].is_number_float());
  CHECK(j["f"] == 1.5);
  CHECK(j["e"].is_number_float());
  CHECK(j["e"] == 1000.0);
  CHECK(j["ep"] == 100000.0);
  CHECK(j["en"] == -0.025);
  CHECK(j["big"].is_number_float());
  CHECK(j["t"] == true);
  CHECK(j["fl"] == false);
  CHECK(j["n"].is_null());
  CHECK(j["y"] == "yes");
  CHECK(j["no"] == "no");
  CHECK(j["on"] == "on");
  CHECK(j["off"] == "off");
  CHECK(j["ver"] == "1.2.3");
  CHECK(j["lead"] == "01");
  CHECK(j["qn"] == "42");
  CHECK(j["qt"] == "true");
}

TEST_CASE("hocon: numbers too small for a double become 0.0, too large ones stay strings", "[hocon]") {
  json j = parse_hocon("tiny = 1e-999\nneg_tiny = -1e-999\nhuge = 1e999\n");
  CHECK(j["tiny"].is_number_float());
  CHECK(j["tiny"] == 0.0);
  CHECK(j["neg_tiny"] == 0.0);
  CHECK(j["huge"] == "1e999");
}

TEST_CASE("hocon: value concatenation keeps inner whitespace and trims trailing whitespace", "[hocon]") {
  CHECK(parse_hocon("a = a  b\tc   ") == json{{"a", "a  b\tc"}});
  CHECK(parse_hocon("a = \"x\" y \"z\"") == json{{"a", "x y z"}});
  CHECK(parse_hocon("a = foo\"bar\"") == json{{"a", "foobar"}});
  CHECK(parse_hocon("a = true false") == json{{"a", "true false"}});
  CHECK(parse_hocon("a = hello world # comment") == json{{"a", "hello world"}});
  CHECK(parse_hocon("a = /path/to/file.jar") == json{{"a", "/path/to/file.jar"}});
}

TEST_CASE("hocon: a number followed by more text on the line is a string", "[hocon]") {
  CHECK(parse_hocon("a = 1 2") == json{{"a", "1 2"}});
  CHECK(parse_hocon("a = 10 secs") == json{{"a", "10 secs"}});
  CHECK(parse_hocon("a = 10s") == json{{"a", "10s"}});
  CHECK(parse_hocon("a = 512m") == json{{"a", "512m"}});
  CHECK(parse_hocon("a = -") == json{{"a", "-"}});
}

TEST_CASE("hocon: quoted strings support JSON escapes including surrogate pairs", "[hocon]") {
  CHECK(parse_hocon(R"(a = "q\" b\\ s\/ \b\f\n\r\t")") == json{{"a", "q\" b\\ s/ \b\f\n\r\t"}});
  CHECK(parse_hocon(R"(a = "\u00e9\u20AC")") == json{{"a", "\xC3\xA9\xE2\x82\xAC"}});
  CHECK(parse_hocon(R"(a = "\ud83d\ude00")") == json{{"a", "\xF0\x9F\x98\x80"}});
  CHECK(parse_hocon("a = \"caf\xC3\xA9\"") == json{{"a", "caf\xC3\xA9"}});
  CHECK(parse_hocon("a = \"tab\tinside\"") == json{{"a", "tab\tinside"}});
}

TEST_CASE("hocon: fields are separated by newlines and/or commas, and trailing commas are allowed", "[hocon]") {
  CHECK(parse_hocon("a = 1, b = 2, c = 3") == expected(R"({"a":1,"b":2,"c":3})"));
  CHECK(parse_hocon("a = 1,\nb = 2,\n") == expected(R"({"a":1,"b":2})"));
  CHECK(parse_hocon("{a = 1, b = 2,}") == expected(R"({"a":1,"b":2})"));
  CHECK(parse_hocon("a { x = 1, }, b = [1,]") == expected(R"({"a":{"x":1},"b":[1]})"));
  CHECK(parse_hocon("a = 1\n\n\nb = 2") == expected(R"({"a":1,"b":2})"));
}

TEST_CASE("hocon: newlines are allowed around the separator", "[hocon]") {
  CHECK(parse_hocon("{\"a\"\n:\n1}") == expected(R"({"a":1})"));
  CHECK(parse_hocon("a =\n  [1]") == expected(R"({"a":[1]})"));
}

TEST_CASE("hocon: nesting of exactly 256 levels is accepted", "[hocon]") {
  std::string text = "x = " + std::string(255, '[') + std::string(255, ']');
  json j = parse_hocon(text);
  int depth = 1;
  const json* node = &j["x"];
  while (node->is_array() && !node->empty()) {
    node = &(*node)[0];
    ++depth;
  }
  CHECK(depth == 255);
  std::string path = "k";
  for (int i = 1; i < 256; ++i) path += ".k";
  CHECK_NOTHROW(parse_hocon(path + " = 1"));
}

// -------------------------------------------------------------- invalid input

TEST_CASE("hocon error: missing '=' or ':' after a key names the key", "[hocon][error]") {
  check_error("a", 1, 2, "expected '=' or ':' after key \"a\", found end of input");
  check_error("a,b=1", 1, 2, "expected '=' or ':' after key \"a\", found ','");
  check_error("x = 1\nb\nc = 2", 2, 2, "expected '=' or ':' after key \"b\", found end of line");
  check_error("{\n  a\n}", 2, 4, "expected '=' or ':' after key \"a\"");
  check_error("a.b}", 1, 4, "expected '=' or ':' after key \"a.b\", found '}'");
  check_error("a 1", 1, 4, "expected '=' or ':' after key \"a 1\"");
}

TEST_CASE("hocon error: unterminated strings point at the opening quote", "[hocon][error]") {
  check_error("a = \"abc", 1, 5, "unterminated string");
  check_error("x = 1\ny = \"oops\nz = 2", 2, 5, "unterminated string");
  check_error("\"key = 1", 1, 1, "unterminated string");
  check_error("a = \"abc\\", 1, 5, "unterminated string");
  check_error("a = \"\"\"never closed\"\"", 1, 5, "unterminated triple-quoted string");
}

TEST_CASE("hocon error: a '}' without an open object is unexpected", "[hocon][error]") {
  check_error("a = 1\n}", 2, 1, "unexpected '}'");
  check_error("}", 1, 1, "unexpected '}'");
  check_error("a = 1 }", 1, 7, "unexpected '}'");
  check_error("{a = 1}}", 1, 8, "unexpected '}' after root object");
  check_error("]", 1, 1, "unexpected ']'");
}

TEST_CASE("hocon error: unterminated objects report where they were opened", "[hocon][error]") {
  check_error("{a=1", 1, 5, "unterminated object (opened at line 1, column 1)");
  check_error("a {\n  b = 1\n", 3, 1, "unterminated object (opened at line 1, column 3)");
}

TEST_CASE("hocon error: unterminated arrays report where they were opened", "[hocon][error]") {
  check_error("a = [1, 2", 1, 10, "unterminated array (opened at line 1, column 5)");
  check_error("a = [\n1\n", 3, 1, "unterminated array (opened at line 1, column 5)");
  check_error("a = [1 }", 1, 8, "expected ',' or ']' after array element, found '}'");
}

TEST_CASE("hocon error: substitutions are rejected at the '$'", "[hocon][error]") {
  check_error("a = ${b}", 1, 5, "substitutions (${...}) are not supported");
  check_error("a = foo ${b}", 1, 9, "substitutions (${...}) are not supported");
  check_error("x = 1\ny = \"s\"${z}", 2, 8, "substitutions (${...}) are not supported");
  check_error("a = [1, ${?b}]", 1, 9, "substitutions (${...}) are not supported");
  check_error("${a} = 1", 1, 1, "substitutions (${...}) are not supported");
  check_error("a.${b} = 1", 1, 3, "substitutions (${...}) are not supported");
}

TEST_CASE("hocon error: include statements and '+=' are rejected", "[hocon][error]") {
  check_error("include \"other.conf\"", 1, 1, "include is not supported");
  check_error("a = 1\n  include file(\"x.conf\")", 2, 3, "include is not supported");
  check_error("a { include required(\"y\") }", 1, 5, "include is not supported");
  check_error("a += 1", 1, 3, "'+=' is not supported");
  CHECK(parse_hocon("include = 1") == expected(R"({"include":1})"));
}

TEST_CASE("hocon error: nesting deeper than 256 levels is rejected without deep recursion", "[hocon][error]") {
  check_error("x = " + std::string(256, '[') + std::string(256, ']'), 1, 260, "nesting deeper than 256");
  check_error("x = " + std::string(100000, '['), 1, 260, "nesting deeper than 256");
  std::string objects;
  for (int i = 0; i < 300; ++i) objects += "a{";
  check_error(objects, 1, 512, "nesting deeper than 256");
  std::string path = "k";
  for (int i = 0; i < 100000; ++i) path += ".k";
  check_error(path + " = 1", 1, 1, "nesting deeper than 256");
  check_error("x { " + path + " = 1 }", 1, 5, "nesting deeper than 256");
}

TEST_CASE("hocon error: misplaced commas and missing values", "[hocon][error]") {
  check_error("a = 1,,b = 2", 1, 7, "unexpected ','");
  check_error("{,}", 1, 2, "unexpected ','");
  check_error("a = [1,,2]", 1, 8, "unexpected ','");
  check_error("a =", 1, 4, "expected value for key \"a\", found end of input");
  check_error("a = }", 1, 5, "expected value for key \"a\", found '}'");
  check_error("=1", 1, 1, "expected key, found '='");
}

TEST_CASE("hocon error: characters reserved in unquoted strings need quotes", "[hocon][error]") {
  check_error("a = hello!", 1, 10, "expected ',' or newline after value of key \"a\", found '!' (reserved");
  check_error("a = ?x", 1, 5, "expected value for key \"a\", found '?'");
  check_error("a = [1] x", 1, 9, "expected ',' or newline after value of key \"a\", found 'x'");
  check_error("a = 1+2", 1, 6, "found '+'");
}

TEST_CASE("hocon error: bad escapes, empty path elements, invalid UTF-8 and root arrays", "[hocon][error]") {
  check_error("a = \"x\\qy\"", 1, 7, "invalid escape sequence '\\q'");
  check_error("a = \"\\u12G4\"", 1, 6, "invalid \\u escape");
  check_error("a = \"\\ud800\"", 1, 6, "unpaired high surrogate");
  check_error("a = \"\\udc00\"", 1, 6, "unpaired low surrogate");
  check_error("a = \"x\x01\"", 1, 7, "invalid control character 0x01 in string");
  check_error("a..b = 1", 1, 3, "empty path element in key");
  check_error(".a = 1", 1, 1, "empty path element in key");
  check_error("a. = 1", 1, 3, "empty path element in key");
  check_error("a = 1\nb = \xFF", 2, 5, "invalid UTF-8 (byte 0xFF)");
  check_error("a = \"\xC0\xAF\"", 1, 6, "invalid UTF-8");
  check_error("a = \"\xED\xA0\x80\"", 1, 6, "invalid UTF-8");
  check_error("[1, 2]", 1, 1, "root of a document must be an object");
  check_error("{a = 1} b = 2", 1, 9, "unexpected 'b' after root object");
  check_error(std::string("a = 1\n\0", 7), 2, 1, "expected key, found control character 0x00");
}

TEST_CASE("hocon error: what() is prefixed with the 1-based line and column", "[hocon][error]") {
  HoconError e = hocon_error("ok = 1\nbad\n");
  CHECK(std::string(e.what()) == "line 2, column 4: expected '=' or ':' after key \"bad\", found end of line");
  HoconError made("boom", 3, 7);
  CHECK(std::string(made.what()) == "line 3, column 7: boom");
  CHECK(made.line == 3);
  CHECK(made.column == 7);
}

// --------------------------------------------------------------- form config

TEST_CASE("form: key=value pairs are percent-decoded, '+' is a space, dotted keys nest", "[hocon][form]") {
  CHECK(sjs::parse_form_config("a=1&b.c=x%20y") == expected(R"({"a":1,"b":{"c":"x y"}})"));
  CHECK(sjs::parse_form_config("input.string=a+b+c") == expected(R"({"input":{"string":"a b c"}})"));
  CHECK(sjs::parse_form_config("msg=%E2%82%AC%3d%26%2B") == json{{"msg", "\xE2\x82\xAC=&+"}});
  CHECK(sjs::parse_form_config("a.b=1&a.c=2") == expected(R"({"a":{"b":1,"c":2}})"));
  CHECK(sjs::parse_form_config("a=1&a=2") == expected(R"({"a":2})"));
  CHECK(sjs::parse_form_config("") == json::object());
  CHECK(sjs::parse_form_config("a=1&&b=2&") == expected(R"({"a":1,"b":2})"));
  CHECK(sjs::parse_form_config("flag&x=") == expected(R"({"flag":"","x":""})"));
  CHECK(sjs::parse_form_config("eq=a=b") == expected(R"({"eq":"a=b"})"));
}

TEST_CASE("form: values are typed like HOCON unquoted values", "[hocon][form]") {
  json j = sjs::parse_form_config("n=42&neg=-3&f=1.5&e=1e%2B3&t=true&fl=false&z=null&y=yes&v=1.2.3&s=10+secs");
  CHECK(j["n"].is_number_integer());
  CHECK(j["n"] == 42);
  CHECK(j["neg"] == -3);
  CHECK(j["f"] == 1.5);
  CHECK(j["e"] == 1000.0);
  CHECK(j["t"] == true);
  CHECK(j["fl"] == false);
  CHECK(j["z"].is_null());
  CHECK(j["y"] == "yes");
  CHECK(j["v"] == "1.2.3");
  CHECK(j["s"] == "10 secs");
}

TEST_CASE("form error: bad percent-escapes report line 1 and column offset+1", "[hocon][form][error]") {
  HoconError e = form_error("a=%zz");
  CHECK(e.line == 1);
  CHECK(e.column == 3);
  CHECK(std::string(e.what()).find("invalid percent-escape") != std::string::npos);
  CHECK(form_error("ab=1&c=%4").column == 8);
  CHECK(form_error("a=%").column == 3);
  CHECK(form_error("k%g1=1").column == 2);
}

TEST_CASE("form error: empty key segments and invalid UTF-8 are rejected", "[hocon][form][error]") {
  CHECK(form_error("a..b=1").column == 1);
  CHECK(form_error("x=1&.a=2").column == 5);
  CHECK(form_error("=1").column == 1);
  HoconError bad_utf8 = form_error("a=%FF");
  CHECK(bad_utf8.column == 3);
  CHECK(std::string(bad_utf8.what()).find("invalid UTF-8") != std::string::npos);
}

TEST_CASE("looks_form_encoded: only '&'-joined or single tight k=v lines count as form-encoded", "[hocon][form]") {
  CHECK(sjs::looks_form_encoded("a=1&b=2"));
  CHECK(sjs::looks_form_encoded("a=1"));
  CHECK(sjs::looks_form_encoded("a.b.c=x%20y"));
  CHECK(sjs::looks_form_encoded("input.string=a b c"));
  CHECK(sjs::looks_form_encoded("a=1&flag"));
  CHECK_FALSE(sjs::looks_form_encoded(""));
  CHECK_FALSE(sjs::looks_form_encoded("abc"));
  CHECK_FALSE(sjs::looks_form_encoded("a = 1"));
  CHECK_FALSE(sjs::looks_form_encoded("a =1&b=2"));
  CHECK_FALSE(sjs::looks_form_encoded("a= 1"));
  CHECK_FALSE(sjs::looks_form_encoded("a=1\nb=2"));
  CHECK_FALSE(sjs::looks_form_encoded("a=1\n"));
  CHECK_FALSE(sjs::looks_form_encoded("{a=1}"));
  CHECK_FALSE(sjs::looks_form_encoded("a { b=1 }"));
  CHECK_FALSE(sjs::looks_form_encoded("a:1"));
  CHECK_FALSE(sjs::looks_form_encoded("a=x:y&b=2"));
  CHECK_FALSE(sjs::looks_form_encoded("a=1,b=2"));
}

// ---------------------------------------------------------------------- fuzz

namespace {

const std::string k_fuzz_alphabet = std::string("{}[]=:,.\"\\$#/+ \t\n\rab01-eu.\"\"\"") + '\0' + "\xC3\xA9\xFF";

std::string to_hex(const std::string& bytes) {
  constexpr const char* k_digits = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    auto b = static_cast<unsigned char>(c);
    out += k_digits[b >> 4];
    out += k_digits[b & 0xF];
  }
  return out;
}

std::string random_input(std::mt19937& rng) {
  std::string out;
  std::size_t length = rng() % 48;
  for (std::size_t i = 0; i < length; ++i) {
    if (rng() % 10 == 0) {
      out += static_cast<char>(rng() % 256);
    } else {
      out += k_fuzz_alphabet[rng() % k_fuzz_alphabet.size()];
    }
  }
  return out;
}

std::string mutate(std::string text, std::mt19937& rng) {
  int operations = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < operations; ++i) {
    char c = rng() % 4 == 0 ? static_cast<char>(rng() % 256) : k_fuzz_alphabet[rng() % k_fuzz_alphabet.size()];
    std::size_t pos = text.empty() ? 0 : rng() % (text.size() + 1);
    switch (rng() % 5) {
      case 0:
        if (pos < text.size()) text[pos] = c;
        break;
      case 1:
        text.insert(pos, 1, c);
        break;
      case 2:
        if (pos < text.size()) text.erase(pos, 1 + rng() % 3);
        break;
      case 3:
        if (pos < text.size()) text.insert(pos, text.substr(pos, 1 + rng() % 8));
        break;
      default:
        text.resize(pos);
        break;
    }
  }
  return text;
}

const std::vector<std::string> k_fuzz_seeds = {
    "input.string = a b c\n",
    "a { b = 1, c = [1, 2, {d = \"x\"}] }\n# comment\nx.y.z = true // c\n",
    "{\"a\": {\"b\": [1, 2.5e3, null, false, \"s\\u00e9\\ud83d\\ude00\"]}}",
    "s = \"\"\"raw\n\"text\"\"\"\"\nn = -12.5e-3\n",
    "a.\"b.c\".d = 10 secs\nlist = [\n  1\n  2,\n]\n",
    "spark { context-settings { num-cpu-cores = 2, memory-per-node = 512m } }",
    "a = [[[[{b = [[{}]]}]]]]",
    "a=1&b.c=x%20y&d=%E2%82%AC+z",
};

}  // namespace

TEST_CASE("fuzz: 20000 random and mutated inputs either parse to an object or throw HoconError", "[hocon][fuzz]") {
  std::mt19937 rng(20240229u);
  int parsed = 0;
  int rejected = 0;
  std::string failure;
  for (int i = 0; i < 20000 && failure.empty(); ++i) {
    std::string input =
        i % 2 == 0 ? random_input(rng) : mutate(k_fuzz_seeds[rng() % k_fuzz_seeds.size()], rng);
    try {
      json j = parse_hocon(input);
      if (!j.is_object()) failure = "non-object result";
      (void)j.dump();  // valid UTF-8 only: dump() would throw otherwise
      ++parsed;
    } catch (const HoconError& e) {
      if (e.line < 1 || e.column < 1) failure = std::string("bad position in: ") + e.what();
      ++rejected;
    } catch (const std::exception& e) {
      failure = std::string("foreign exception: ") + e.what();
    } catch (...) {
      failure = "unknown exception";
    }
    if (!failure.empty()) failure += " for input (hex) " + to_hex(input);
  }
  INFO(failure);
  CHECK(failure.empty());
  CHECK(parsed > 100);
  CHECK(rejected > 100);
}

TEST_CASE("fuzz: 20000 random and mutated form inputs either parse or throw HoconError", "[hocon][form][fuzz]") {
  std::mt19937 rng(77u);
  std::string failure;
  for (int i = 0; i < 20000 && failure.empty(); ++i) {
    std::string input =
        i % 2 == 0 ? random_input(rng) : mutate(k_fuzz_seeds[rng() % k_fuzz_seeds.size()], rng);
    if (rng() % 2 == 0) input += "&k%" + std::string(1, k_fuzz_alphabet[rng() % k_fuzz_alphabet.size()]) + "=v";
    try {
      (void)sjs::looks_form_encoded(input);
      json j = sjs::parse_form_config(input);
      if (!j.is_object()) failure = "non-object result";
      (void)j.dump();
    } catch (const HoconError& e) {
      if (e.line != 1 || e.column < 1) failure = std::string("bad position in: ") + e.what();
    } catch (const std::exception& e) {
      failure = std::string("foreign exception: ") + e.what();
    } catch (...) {
      failure = "unknown exception";
    }
    if (!failure.empty()) failure += " for input (hex) " + to_hex(input);
  }
  INFO(failure);
  CHECK(failure.empty());
}

TEST_CASE("hocon: a key over 4096 bytes is refused with its size, a long key within it is kept", "[hocon]") {
  const HoconError e = hocon_error(std::string(100 * 1024, 'k') + " = 1\n");
  CHECK(std::string(e.what()).find("a key of 102400 bytes: keys are at most 4096 bytes") != std::string::npos);
  const HoconError dotted = hocon_error("a." + std::string(4095, 'k') + " = 1\n");
  CHECK(std::string(dotted.what()).find("keys are at most 4096 bytes") != std::string::npos);
  CHECK(parse_hocon(std::string(4096, 'k') + " = 1\n")[std::string(4096, 'k')] == 1);
}

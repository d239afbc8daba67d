#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "sjs/errors.hpp"
#include "sjs/framing.hpp"
#include "sjs/messages.hpp"
#include "unit_helpers.hpp"

using nlohmann::json;
using sjs::encode_frame;
using sjs::Error;
using sjs::ErrorCode;
using sjs::FrameDecoder;
using sjs::test::error_from;

namespace {

// Every complete payload the decoder holds right now.
std::vector<std::string> drain(FrameDecoder& decoder) {
  std::vector<std::string> out;
  std::string payload;
  while (decoder.next(payload)) out.push_back(payload);
  return out;
}

}  // namespace

// ---------------------------------------------------------------- framing

TEST_CASE("framing: a frame is a 4-byte big-endian length followed by the payload", "[framing]") {
  CHECK(encode_frame("") == std::string("\0\0\0\0", 4));
  CHECK(encode_frame("hi") == std::string("\0\0\0\2hi", 6));
  std::string big(0x010203, 'x');
  std::string frame = encode_frame(big);
  REQUIRE(frame.size() == 4 + big.size());
  CHECK(frame.substr(0, 4) == std::string("\x00\x01\x02\x03", 4));
  CHECK(frame.substr(4) == big);
}

TEST_CASE("framing: back-to-back frames fed at once come out in order", "[framing]") {
  const std::vector<std::string> payloads = {R"({"id":1})", "", "second", std::string(1000, 'z'), "last"};
  std::string stream;
  for (const auto& p : payloads) stream += encode_frame(p);
  FrameDecoder decoder;
  decoder.feed(stream);
  CHECK(drain(decoder) == payloads);
  CHECK(decoder.pending() == 0);
}

TEST_CASE("framing: a frame fed byte by byte completes only with its last byte", "[framing]") {
  const std::string payload = R"({"id":7,"op":"hello","args":{"client":"test"}})";
  const std::string frame = encode_frame(payload) + encode_frame("next");
  const std::size_t first_end = 4 + payload.size();
  FrameDecoder decoder;
  std::vector<std::string> got;
  for (std::size_t i = 0; i < frame.size(); ++i) {
    decoder.feed(&frame[i], 1);
    auto now = drain(decoder);
    INFO("after byte " << i);
    if (i + 1 == first_end) {
      REQUIRE(now.size() == 1);
      CHECK(now[0] == payload);
      CHECK(decoder.pending() == 0);
    } else if (i + 1 == frame.size()) {
      REQUIRE(now.size() == 1);
      CHECK(now[0] == "next");
    } else {
      CHECK(now.empty());
      CHECK(decoder.pending() == (i < first_end ? i + 1 : i + 1 - first_end));
    }
  }
  CHECK(decoder.pending() == 0);
}

TEST_CASE("framing: an oversized frame is rejected as soon as its header is seen", "[framing]") {
  const std::size_t max = 16;
  const std::string frame = encode_frame(std::string(max + 1, 'a'));
  SECTION("header fed alone, no payload yet") {
    FrameDecoder decoder(max);
    decoder.feed(frame.data(), 3);  // an incomplete header says nothing yet
    CHECK(decoder.pending() == 3);
    Error e = error_from([&] { decoder.feed(frame.data() + 3, 1); });
    CHECK(e.code() == ErrorCode::too_large);
    CHECK_THAT(e.what(), Catch::Contains(std::to_string(max + 1)));
    CHECK_THAT(e.what(), Catch::Contains(std::to_string(max)));
  }
  SECTION("after a valid frame in the same feed") {
    FrameDecoder decoder(max);
    const std::string stream = encode_frame("ok") + frame.substr(0, 4);
    decoder.feed(stream);
    std::string payload;
    REQUIRE(decoder.next(payload));
    CHECK(payload == "ok");
    Error e = error_from([&] { decoder.next(payload); });
    CHECK(e.code() == ErrorCode::too_large);
  }
  SECTION("a hostile 4 GiB length") {
    FrameDecoder decoder;
    Error e = error_from([&] { decoder.feed(std::string("\xff\xff\xff\xff", 4)); });
    CHECK(e.code() == ErrorCode::too_large);
  }
}

TEST_CASE("framing: a frame of exactly the maximum size is accepted", "[framing]") {
  const std::size_t max = 1024;
  const std::string payload(max, 'm');
  FrameDecoder decoder(max);
  decoder.feed(encode_frame(payload));
  auto got = drain(decoder);
  REQUIRE(got.size() == 1);
  CHECK(got[0] == payload);
}

TEST_CASE("framing: truncated input is held back as pending and yields no frame", "[framing]") {
  const std::string frame = encode_frame("a payload of some length");
  for (std::size_t cut : {std::size_t{1}, std::size_t{3}, std::size_t{4}, frame.size() - 1}) {
    INFO("cut at " << cut);
    FrameDecoder decoder;
    decoder.feed(frame.substr(0, cut));
    std::string payload = "untouched";
    CHECK_FALSE(decoder.next(payload));
    CHECK(payload == "untouched");
    CHECK(decoder.pending() == cut);
  }
}

TEST_CASE("framing: an empty payload is a frame of its own", "[framing]") {
  FrameDecoder decoder;
  decoder.feed(encode_frame(""));
  std::string payload = "not empty";
  REQUIRE(decoder.next(payload));
  CHECK(payload.empty());
  CHECK(decoder.pending() == 0);
  CHECK_FALSE(decoder.next(payload));
}

// ---------------------------------------------------------------- messages

TEST_CASE("messages: JobInfo round-trips through JSON field by field", "[messages]") {
  sjs::JobInfo job;
  job.id = "0b1c2d3e-aaaa-4bbb-8ccc-123456789abc";
  job.seq = 1234567890123ull;
  job.binary = "wordcount";
  job.binary_version = 3;
  job.binary_type = "exec";
  job.entry = "main";
  job.args = {"--flag", "a b", ""};
  job.context = "ctx";
  job.adhoc = true;
  job.runtime = "exec";
  job.state = sjs::job_state::k_error;
  job.priority = -5;
  job.key = "idem-1";
  job.timeout_s = 2.5;
  job.submitted_ms = 1700000000000;
  job.started_ms = 1700000000100;
  job.ended_ms = 1700000000200;
  job.exit_status = 3;
  job.signal = 9;
  job.error = {{"message", "boom"}, {"errorClass", "Exit"}, {"stack", json::array()}};
  job.end_reason = sjs::end_reason::k_timeout;
  job.has_result = true;
  job.pid = 4242;

  const json j = job;
  CHECK(j.at("id") == job.id);
  CHECK(j.at("seq") == job.seq);
  CHECK(j.at("state") == "ERROR");
  CHECK(j.at("timeout_s") == 2.5);

  // Through text too, as on the wire.
  const auto back = sjs::parse_args<sjs::JobInfo>(json::parse(j.dump()));
  CHECK(back.id == job.id);
  CHECK(back.seq == job.seq);
  CHECK(back.binary == job.binary);
  CHECK(back.binary_version == job.binary_version);
  CHECK(back.binary_type == job.binary_type);
  CHECK(back.entry == job.entry);
  CHECK(back.args == job.args);
  CHECK(back.context == job.context);
  CHECK(back.adhoc == job.adhoc);
  CHECK(back.runtime == job.runtime);
  CHECK(back.state == job.state);
  CHECK(back.priority == job.priority);
  CHECK(back.key == job.key);
  CHECK(back.timeout_s == job.timeout_s);
  CHECK(back.submitted_ms == job.submitted_ms);
  CHECK(back.started_ms == job.started_ms);
  CHECK(back.ended_ms == job.ended_ms);
  CHECK(back.exit_status == job.exit_status);
  CHECK(back.signal == job.signal);
  CHECK(back.error == job.error);
  CHECK(back.end_reason == job.end_reason);
  CHECK(back.has_result == job.has_result);
  CHECK(back.pid == job.pid);
  CHECK(json(back) == j);
}

TEST_CASE("messages: JobSubmitArgs with missing fields takes the defaults", "[messages]") {
  const auto args = sjs::parse_args<sjs::JobSubmitArgs>(json::parse(R"({"binary":"wc","priority":2})"));
  const sjs::JobSubmitArgs defaults;
  CHECK(args.binary == "wc");
  CHECK(args.priority == 2);
  CHECK(args.entry == defaults.entry);
  CHECK(args.args.empty());
  CHECK(args.context.empty());
  CHECK(args.config == json::object());
  CHECK(args.timeout_s == 0);
  CHECK(args.key.empty());
  CHECK_FALSE(args.sync);
  CHECK(args.wait_timeout_s == 0);

  // Null args (no "args" in the request) are all defaults; so is an empty object.
  const auto from_null = sjs::parse_args<sjs::JobListArgs>(json());
  CHECK(from_null.limit == sjs::JobListArgs{}.limit);
  CHECK(from_null.before_seq == 0);
  const auto from_empty = sjs::parse_args<sjs::JobListArgs>(json::object());
  CHECK(from_empty.limit == sjs::JobListArgs{}.limit);
  CHECK(from_empty.state.empty());
}

TEST_CASE("messages: JobSubmitArgs round-trips through JSON", "[messages]") {
  sjs::JobSubmitArgs in;
  in.binary = "b";
  in.entry = "e";
  in.args = {"1", "2"};
  in.context = "c";
  in.config = {{"input", {{"string", "a b c"}}}};
  in.priority = 7;
  in.timeout_s = 1.5;
  in.key = "k";
  in.sync = true;
  in.wait_timeout_s = 0.25;
  const auto out = sjs::parse_args<sjs::JobSubmitArgs>(json::parse(json(in).dump()));
  CHECK(json(out) == json(in));
  CHECK(out.config.at("input").at("string") == "a b c");
  CHECK(out.sync);
}

TEST_CASE("messages: parse_args turns a type mismatch or non-object args into Error usage", "[messages]") {
  Error mismatch = error_from([] { sjs::parse_args<sjs::JobSubmitArgs>(json::parse(R"({"priority":"high"})")); });
  CHECK(mismatch.code() == ErrorCode::usage);
  CHECK_THAT(mismatch.what(), Catch::Contains("priority"));

  Error nested = error_from([] { sjs::parse_args<sjs::JobSubmitArgs>(json::parse(R"({"args":["a", 1]})")); });
  CHECK(nested.code() == ErrorCode::usage);
  CHECK_THAT(nested.what(), Catch::Contains("args"));

  Error not_object = error_from([] { sjs::parse_args<sjs::JobIdArgs>(json::parse(R"(["id"])")); });
  CHECK(not_object.code() == ErrorCode::usage);

  Error scalar = error_from([] { sjs::parse_args<sjs::JobIdArgs>(json("id")); });
  CHECK(scalar.code() == ErrorCode::usage);
}

TEST_CASE("messages: job states split into live and final", "[messages]") {
  using namespace sjs::job_state;
  for (const char* s : {k_queued, k_running}) {
    CHECK(sjs::is_job_state(s));
    CHECK_FALSE(sjs::is_final_job_state(s));
  }
  for (const char* s : {k_finished, k_error, k_killed}) {
    CHECK(sjs::is_job_state(s));
    CHECK(sjs::is_final_job_state(s));
  }
  CHECK_FALSE(sjs::is_job_state("finished"));
  CHECK_FALSE(sjs::is_job_state(""));
}

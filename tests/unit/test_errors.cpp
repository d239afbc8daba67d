#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "sjs/errors.hpp"

using sjs::Error;
using sjs::error_code_from_name;
using sjs::error_info;
using sjs::error_name;
using sjs::error_table;
using sjs::ErrorCode;

namespace {

// Every enumerator, spelled out so that a code missing from the table is noticed.
const std::vector<ErrorCode> k_all_codes = {
    ErrorCode::usage,        ErrorCode::bad_request,       ErrorCode::not_found,   ErrorCode::already_exists,
    ErrorCode::in_use,       ErrorCode::validation_failed, ErrorCode::too_large,   ErrorCode::busy,
    ErrorCode::unauthorized, ErrorCode::forbidden,         ErrorCode::unavailable, ErrorCode::protocol,
    ErrorCode::timeout,      ErrorCode::storage_full,      ErrorCode::internal,
};

int exit_of(ErrorCode code) {
  return error_info(code).exit_code;
}
int http_of(ErrorCode code) {
  return error_info(code).http_status;
}

}  // namespace

TEST_CASE("errors: every ErrorCode has exactly one table row", "[errors]") {
  CHECK(error_table().size() == k_all_codes.size());
  for (ErrorCode code : k_all_codes) {
    int rows = 0;
    for (const auto& e : error_table()) rows += e.code == code ? 1 : 0;
    INFO("code #" << static_cast<int>(code));
    CHECK(rows == 1);
    // error_info finds the code's own row, not the fallback.
    CHECK(error_info(code).code == code);
  }
}

TEST_CASE("errors: names are unique, non-empty snake_case and documented with a meaning", "[errors]") {
  std::set<std::string> names;
  for (const auto& e : error_table()) {
    std::string name(e.name);
    INFO("name: " << name);
    CHECK(!name.empty());
    CHECK(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string::npos);
    CHECK(!e.meaning.empty());
    CHECK(names.insert(name).second);
  }
  CHECK(names.size() == k_all_codes.size());
}

TEST_CASE("errors: a name round-trips through error_code_from_name and unknown names map to internal", "[errors]") {
  for (ErrorCode code : k_all_codes) {
    INFO("name: " << error_name(code));
    CHECK(error_code_from_name(error_name(code)) == code);
  }
  CHECK(error_name(ErrorCode::not_found) == "not_found");
  CHECK(error_name(ErrorCode::bad_request) == "bad_request");
  CHECK(error_code_from_name("no_such_code") == ErrorCode::internal);
  CHECK(error_code_from_name("") == ErrorCode::internal);
  CHECK(error_code_from_name("NOT_FOUND") == ErrorCode::internal);  // names are case-sensitive on the wire
}

TEST_CASE("errors: exit codes are the documented ones", "[errors]") {
  // The documented table: 2 usage, 3 validation failed, 6 wait expired, 7 not found, 8 bad input,
  // 9 conflict, 10 unreachable, 11 busy, 12 denied, 13 internal/protocol.
  CHECK(exit_of(ErrorCode::usage) == 2);
  CHECK(exit_of(ErrorCode::validation_failed) == 3);
  CHECK(exit_of(ErrorCode::timeout) == 6);
  CHECK(exit_of(ErrorCode::not_found) == 7);
  CHECK(exit_of(ErrorCode::bad_request) == 8);
  CHECK(exit_of(ErrorCode::too_large) == 8);
  CHECK(exit_of(ErrorCode::already_exists) == 9);
  CHECK(exit_of(ErrorCode::in_use) == 9);
  CHECK(exit_of(ErrorCode::unavailable) == 10);
  CHECK(exit_of(ErrorCode::busy) == 11);
  CHECK(exit_of(ErrorCode::unauthorized) == 12);
  CHECK(exit_of(ErrorCode::forbidden) == 12);
  CHECK(exit_of(ErrorCode::protocol) == 13);
  CHECK(exit_of(ErrorCode::internal) == 13);
  CHECK(exit_of(ErrorCode::storage_full) == 14);
  CHECK(http_of(ErrorCode::storage_full) == 507);

  // The named constants agree with the documented numbers.
  namespace x = sjs::exit_code;
  CHECK(x::k_ok == 0);
  CHECK(x::k_job_failed == 1);
  CHECK(x::k_usage == 2);
  CHECK(x::k_validation_failed == 3);
  CHECK(x::k_job_killed == 4);
  CHECK(x::k_job_timed_out == 5);
  CHECK(x::k_wait_timeout == 6);
  CHECK(x::k_not_found == 7);
  CHECK(x::k_bad_input == 8);
  CHECK(x::k_conflict == 9);
  CHECK(x::k_unavailable == 10);
  CHECK(x::k_busy == 11);
  CHECK(x::k_denied == 12);
  CHECK(x::k_internal == 13);
  CHECK(x::k_storage_full == 14);
}

TEST_CASE("errors: distinct categories get distinct exit codes", "[errors]") {
  // One representative per category; a script must be able to tell them apart.
  const std::vector<ErrorCode> categories = {
      ErrorCode::usage,       ErrorCode::validation_failed, ErrorCode::timeout,     ErrorCode::not_found,
      ErrorCode::bad_request, ErrorCode::already_exists,    ErrorCode::unavailable, ErrorCode::busy,
      ErrorCode::forbidden,   ErrorCode::internal,          ErrorCode::storage_full,
  };
  std::map<int, std::string> seen;
  for (ErrorCode code : categories) {
    INFO("code " << error_name(code) << " has exit " << exit_of(code));
    auto inserted = seen.emplace(exit_of(code), std::string(error_name(code)));
    CHECK(inserted.second);
  }
}

TEST_CASE("errors: no error exit code collides with a job-outcome exit code or success", "[errors]") {
  namespace x = sjs::exit_code;
  for (const auto& e : error_table()) {
    INFO("error " << e.name << " exit " << e.exit_code);
    CHECK(e.exit_code != x::k_ok);
    CHECK(e.exit_code != x::k_job_failed);
    CHECK(e.exit_code != x::k_job_killed);
    CHECK(e.exit_code != x::k_job_timed_out);
    CHECK(e.exit_code > 0);
    CHECK(e.exit_code < 126);  // shells reserve 126+ (not executable, not found, signals)
  }
}

TEST_CASE("errors: every error exit code is described in the outcome table", "[errors]") {
  std::set<int> described;
  for (const auto& o : sjs::outcome_table()) {
    INFO("exit " << o.exit_code);
    CHECK(!o.meaning.empty());
    CHECK(described.insert(o.exit_code).second);
  }
  for (const auto& e : error_table()) {
    INFO("error " << e.name << " exit " << e.exit_code);
    CHECK(described.count(e.exit_code) == 1);
  }
}

TEST_CASE("errors: HTTP statuses are sensible for each category", "[errors]") {
  CHECK(http_of(ErrorCode::not_found) == 404);
  CHECK(http_of(ErrorCode::bad_request) == 400);
  CHECK(http_of(ErrorCode::usage) == 400);
  CHECK(http_of(ErrorCode::validation_failed) == 400);
  CHECK(http_of(ErrorCode::too_large) == 413);
  CHECK(http_of(ErrorCode::unauthorized) == 401);
  CHECK(http_of(ErrorCode::forbidden) == 403);
  CHECK(http_of(ErrorCode::internal) == 500);
  CHECK(http_of(ErrorCode::unavailable) == 503);
  // Client mistakes are 4xx; failures and overload on the server side are 5xx.
  for (ErrorCode code : {ErrorCode::usage, ErrorCode::bad_request, ErrorCode::not_found, ErrorCode::already_exists,
                         ErrorCode::in_use, ErrorCode::validation_failed, ErrorCode::too_large, ErrorCode::unauthorized,
                         ErrorCode::forbidden, ErrorCode::protocol}) {
    INFO("error " << error_name(code) << " http " << http_of(code));
    CHECK(http_of(code) >= 400);
    CHECK(http_of(code) < 500);
  }
  for (ErrorCode code : {ErrorCode::busy, ErrorCode::unavailable, ErrorCode::timeout, ErrorCode::internal}) {
    INFO("error " << error_name(code) << " http " << http_of(code));
    CHECK(http_of(code) >= 500);
    CHECK(http_of(code) < 600);
  }
}

TEST_CASE("errors: sjs::Error carries its code, message and the table's exit code", "[errors]") {
  for (ErrorCode code : k_all_codes) {
    Error e(code, "the message");
    CHECK(e.code() == code);
    CHECK(std::string(e.what()) == "the message");
    CHECK(e.exit_code() == error_info(code).exit_code);
  }
  // It is a std::runtime_error, so generic handlers still print the message.
  try {
    throw Error(ErrorCode::not_found, "no job abc");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) == "no job abc");
  }
}

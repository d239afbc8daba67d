// The store's own record types: what sjsd keeps on disk for a job, a context and a
// binary version. They are separate from the wire types of the client protocol
// (JobInfo, ContextInfo, BinaryInfo in common/): the Store converts at its
// boundary, so renaming or adding a wire field does not change stored data, and
// changing a record here is a schema change (k_schema_version, migrations.hpp).
//
// Encoding, schema 1: one JSON object per record, written and read field by
// field under the keys named in records.cpp. They are the keys sjsd wrote when
// it stored the wire types themselves, so stores written before these records
// existed read unchanged (tests/data/store-v1). Reading: a missing key takes the
// field's default, an unknown key is ignored, a value of the wrong type is an
// Error(internal) naming the record and the key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sjs/messages.hpp"

namespace sjs::store {

struct StoredJob {
  std::string id;
  std::uint64_t seq = 0;
  std::string binary;
  int binary_version = 0;
  std::string binary_type;
  std::string entry;
  std::vector<std::string> args;
  std::vector<std::string> dependencies;  // "name:version"
  std::string context;
  bool adhoc = false;
  std::string runtime;
  std::string state;
  int priority = 0;
  std::string key;  // idempotency key, "" if none
  double timeout_s = 0;
  std::int64_t submitted_ms = 0;
  std::int64_t started_ms = 0;
  std::int64_t ended_ms = 0;
  int exit_status = -1;
  int signal = 0;
  nlohmann::json error;  // null, or {message, errorClass, stack}
  std::string end_reason;
  bool has_result = false;
  int pid = 0;
  std::string callback_url;
  nlohmann::json steps;  // a step pipeline's steps, null for other jobs (added in schema 1: absent = null)
};

// A named context's durable part. Its live counts (running, queued jobs) are not
// stored: they are counted from the jobs.
struct StoredContext {
  std::string name;
  std::string id;
  std::string runtime;
  std::string state;
  nlohmann::json settings = nlohmann::json::object();
  int max_jobs = 1;
  bool adhoc = false;
  std::int64_t created_ms = 0;
  std::int64_t started_ms = 0;
  std::int64_t stopped_ms = 0;
  std::string error;
};

// One version of a binary. How many versions a name has is counted from the
// records, not stored.
struct StoredBinary {
  std::string name;
  int version = 0;
  std::string type;
  std::uint64_t size = 0;
  std::string sha256;
  std::int64_t uploaded_ms = 0;
};

// ---- wire type <-> record (field by field) ----
StoredJob to_record(const JobInfo& job);
JobInfo to_wire(const StoredJob& job);
StoredContext to_record(const ContextInfo& context);
ContextInfo to_wire(const StoredContext& context);
StoredBinary to_record(const BinaryInfo& binary);
BinaryInfo to_wire(const StoredBinary& binary);  // versions = 0: listings count them

// ---- record <-> bytes (schema 1) ----
std::string encode(const StoredJob& job);
std::string encode(const StoredContext& context);
std::string encode(const StoredBinary& binary);
// Throw Error(internal) on text that is not a JSON object or a field of the wrong type.
StoredJob decode_job(std::string_view text);
StoredContext decode_context(std::string_view text);
StoredBinary decode_binary(std::string_view text);

}  // namespace sjs::store

#include "store/records.hpp"

#include <cstring>
#include <type_traits>

#include "sjs/errors.hpp"

namespace sjs::store {
namespace {

// The stored keys of each record, in one list per record that both encode and
// decode walk: `f(key, field)`. These names are the schema: never rename one
// without a migration (migrations.hpp).

template <typename Job, typename F>
void job_fields(Job& j, F&& f) {
  f("id", j.id);
  f("seq", j.seq);
  f("binary", j.binary);
  f("binary_version", j.binary_version);
  f("binary_type", j.binary_type);
  f("entry", j.entry);
  f("args", j.args);
  f("dependencies", j.dependencies);
  f("context", j.context);
  f("adhoc", j.adhoc);
  f("runtime", j.runtime);
  f("state", j.state);
  f("priority", j.priority);
  f("key", j.key);
  f("timeout_s", j.timeout_s);
  f("submitted_ms", j.submitted_ms);
  f("started_ms", j.started_ms);
  f("ended_ms", j.ended_ms);
  f("exit_status", j.exit_status);
  f("signal", j.signal);
  f("error", j.error);
  f("end_reason", j.end_reason);
  f("has_result", j.has_result);
  f("pid", j.pid);
  f("callback_url", j.callback_url);
  f("steps", j.steps);
}

template <typename Context, typename F>
void context_fields(Context& c, F&& f) {
  f("name", c.name);
  f("id", c.id);
  f("runtime", c.runtime);
  f("state", c.state);
  f("settings", c.settings);
  f("max_jobs", c.max_jobs);
  f("adhoc", c.adhoc);
  f("created_ms", c.created_ms);
  f("started_ms", c.started_ms);
  f("stopped_ms", c.stopped_ms);
  f("error", c.error);
}

template <typename Binary, typename F>
void binary_fields(Binary& b, F&& f) {
  f("name", b.name);
  f("version", b.version);
  f("type", b.type);
  f("size", b.size);
  f("sha256", b.sha256);
  f("uploaded_ms", b.uploaded_ms);
}

// Keys that are absent when null (see encode_with).
bool is_optional_key(const char* key) { return std::strcmp(key, "steps") == 0; }

template <typename Record, typename Fields>
std::string encode_with(const Record& r, Fields fields) {
  nlohmann::json j = nlohmann::json::object();
  fields(r, [&j](const char* key, const auto& value) {
    // Keys added to schema 1 after stores existed are written only when set, so records without
    // them stay byte-for-byte what schema 1 always wrote (and read back as their defaults).
    if constexpr (std::is_same_v<std::decay_t<decltype(value)>, nlohmann::json>) {
      if (value.is_null() && is_optional_key(key)) return;
    }
    j[key] = value;
  });
  // Never throws on text that is not UTF-8 (the front ends refuse it; this is the last line): such
  // bytes are stored as U+FFFD. Valid records are written byte for byte as before.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

template <typename Record, typename Fields>
Record decode_with(std::string_view text, const char* record, Fields fields) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) {
    throw Error(ErrorCode::internal, std::string("store: a stored ") + record + " record is not a JSON object");
  }
  Record r;
  fields(r, [&j, record](const char* key, auto& value) {
    auto it = j.find(key);
    if (it == j.end()) return;
    try {
      it->get_to(value);
    } catch (const nlohmann::json::exception& e) {
      throw Error(ErrorCode::internal,
                  std::string("store: a stored ") + record + " record has a bad \"" + key + "\": " + e.what());
    }
  });
  return r;
}

}  // namespace

// ---- wire type <-> record -------------------------------------------------------

StoredJob to_record(const JobInfo& job) {
  StoredJob r;
  r.id = job.id;
  r.seq = job.seq;
  r.binary = job.binary;
  r.binary_version = job.binary_version;
  r.binary_type = job.binary_type;
  r.entry = job.entry;
  r.args = job.args;
  r.dependencies = job.dependencies;
  r.context = job.context;
  r.adhoc = job.adhoc;
  r.runtime = job.runtime;
  r.state = job.state;
  r.priority = job.priority;
  r.key = job.key;
  r.timeout_s = job.timeout_s;
  r.submitted_ms = job.submitted_ms;
  r.started_ms = job.started_ms;
  r.ended_ms = job.ended_ms;
  r.exit_status = job.exit_status;
  r.signal = job.signal;
  r.error = job.error;
  r.end_reason = job.end_reason;
  r.has_result = job.has_result;
  r.pid = job.pid;
  r.callback_url = job.callback_url;
  r.steps = job.steps;
  return r;
}

JobInfo to_wire(const StoredJob& r) {
  JobInfo job;
  job.id = r.id;
  job.seq = r.seq;
  job.binary = r.binary;
  job.binary_version = r.binary_version;
  job.binary_type = r.binary_type;
  job.entry = r.entry;
  job.args = r.args;
  job.dependencies = r.dependencies;
  job.context = r.context;
  job.adhoc = r.adhoc;
  job.runtime = r.runtime;
  job.state = r.state;
  job.priority = r.priority;
  job.key = r.key;
  job.timeout_s = r.timeout_s;
  job.submitted_ms = r.submitted_ms;
  job.started_ms = r.started_ms;
  job.ended_ms = r.ended_ms;
  job.exit_status = r.exit_status;
  job.signal = r.signal;
  job.error = r.error;
  job.end_reason = r.end_reason;
  job.has_result = r.has_result;
  job.pid = r.pid;
  job.callback_url = r.callback_url;
  job.steps = r.steps;
  return job;
}

StoredContext to_record(const ContextInfo& context) {
  StoredContext r;
  r.name = context.name;
  r.id = context.id;
  r.runtime = context.runtime;
  r.state = context.state;
  r.settings = context.settings;
  r.max_jobs = context.max_jobs;
  r.adhoc = context.adhoc;
  r.created_ms = context.created_ms;
  r.started_ms = context.started_ms;
  r.stopped_ms = context.stopped_ms;
  r.error = context.error;
  return r;
}

ContextInfo to_wire(const StoredContext& r) {
  ContextInfo context;
  context.name = r.name;
  context.id = r.id;
  context.runtime = r.runtime;
  context.state = r.state;
  context.settings = r.settings;
  context.max_jobs = r.max_jobs;
  context.adhoc = r.adhoc;
  context.created_ms = r.created_ms;
  context.started_ms = r.started_ms;
  context.stopped_ms = r.stopped_ms;
  context.error = r.error;
  return context;
}

StoredBinary to_record(const BinaryInfo& binary) {
  StoredBinary r;
  r.name = binary.name;
  r.version = binary.version;
  r.type = binary.type;
  r.size = binary.size;
  r.sha256 = binary.sha256;
  r.uploaded_ms = binary.uploaded_ms;
  return r;
}

BinaryInfo to_wire(const StoredBinary& r) {
  BinaryInfo binary;
  binary.name = r.name;
  binary.version = r.version;
  binary.type = r.type;
  binary.size = r.size;
  binary.sha256 = r.sha256;
  binary.uploaded_ms = r.uploaded_ms;
  return binary;
}

// ---- record <-> bytes -------------------------------------------------------------

std::string encode(const StoredJob& job) {
  return encode_with(job, [](const auto& r, auto&& f) { job_fields(r, f); });
}
std::string encode(const StoredContext& context) {
  return encode_with(context, [](const auto& r, auto&& f) { context_fields(r, f); });
}
std::string encode(const StoredBinary& binary) {
  return encode_with(binary, [](const auto& r, auto&& f) { binary_fields(r, f); });
}

StoredJob decode_job(std::string_view text) {
  return decode_with<StoredJob>(text, "job", [](auto& r, auto&& f) { job_fields(r, f); });
}
StoredContext decode_context(std::string_view text) {
  return decode_with<StoredContext>(text, "context", [](auto& r, auto&& f) { context_fields(r, f); });
}
StoredBinary decode_binary(std::string_view text) {
  return decode_with<StoredBinary>(text, "binary", [](auto& r, auto&& f) { binary_fields(r, f); });
}

}  // namespace sjs::store

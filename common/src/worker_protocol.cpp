#include "sjs/worker_protocol.hpp"

#include <cstdint>

#include "sjs/errors.hpp"

namespace sjs::worker {

using nlohmann::json;

namespace {

// Reads the fields of one message (or of an object inside one) and throws
// Error(protocol) naming the message, the field's path and the problem.
class Fields {
 public:
  // `type`: the message's type, for errors; `path`: where this object sits in it ("" at the top).
  Fields(const json& j, std::string type, std::string path = "")
      : m_j(j), m_type(std::move(type)), m_path(std::move(path)) {
    if (!m_j.is_object()) {
      fail(m_path.empty() ? std::string("it is not a JSON object but ") + article(m_j)
                          : "\"" + m_path + "\" must be an object, not " + article(m_j));
    }
  }

  // The message's "type" must be `expected`.
  void expect_type(const char* expected) const {
    const json& t = required("type");
    if (!t.is_string() || t.get_ref<const std::string&>() != expected) {
      fail(std::string("its \"type\" is ") + t.dump() + ", not \"" + expected + "\"");
    }
  }

  const json& required(const char* key) const {
    auto it = m_j.find(key);
    if (it == m_j.end()) fail("field \"" + name(key) + "\" is missing");
    return *it;
  }
  const json* optional(const char* key) const {
    auto it = m_j.find(key);
    return it == m_j.end() ? nullptr : &*it;
  }

  std::string string(const char* key) const { return as_string(required(key), name(key)); }
  std::string string_or(const char* key, const std::string& fallback) const {
    const json* v = optional(key);
    return v ? as_string(*v, name(key)) : fallback;
  }
  std::int64_t integer(const char* key) const {
    const json& v = required(key);
    if (!v.is_number_integer()) wrong(key, v, "an integer");
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      fail("field \"" + name(key) + "\" is out of range: " + v.dump());
    }
    return v.get<std::int64_t>();
  }
  std::uint64_t unsigned_integer(const char* key) const {
    const json& v = required(key);
    // a parsed 1 is unsigned, a constructed json(1) signed: either, if not negative
    if (!v.is_number_integer() || (!v.is_number_unsigned() && v.get<std::int64_t>() < 0)) {
      wrong(key, v, "a non-negative integer");
    }
    return v.get<std::uint64_t>();
  }
  double number(const char* key) const {
    const json& v = required(key);
    if (!v.is_number()) wrong(key, v, "a number");
    return v.get<double>();
  }
  std::vector<std::string> strings(const char* key) const {
    const json& v = required(key);
    if (!v.is_array()) wrong(key, v, "an array of strings");
    std::vector<std::string> out;
    out.reserve(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
      out.push_back(as_string(v[i], name(key) + "[" + std::to_string(i) + "]"));
    }
    return out;
  }
  // A nested object, read with its own Fields.
  Fields object(const char* key) const { return Fields(required(key), m_type, name(key)); }
  Fields element(const json& v, const std::string& path) const { return Fields(v, m_type, path); }

  std::string name(const std::string& key) const { return m_path.empty() ? key : m_path + "." + key; }

  [[noreturn]] void fail(const std::string& problem) const {
    throw Error(ErrorCode::protocol, "bad worker message \"" + m_type + "\": " + problem);
  }

  static std::string article(const json& v) {
    const std::string t = v.type_name();
    return (t == "object" || t == "array" ? "an " : "a ") + t;
  }

 private:
  [[noreturn]] void wrong(const char* key, const json& v, const char* want) const {
    fail("field \"" + name(key) + "\" must be " + want + ", not " + article(v) + " (" + excerpt(v) + ")");
  }
  std::string as_string(const json& v, const std::string& path) const {
    if (!v.is_string()) fail("field \"" + path + "\" must be a string, not " + article(v) + " (" + excerpt(v) + ")");
    return v.get<std::string>();
  }
  static std::string excerpt(const json& v) {
    std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
    return s.size() > 60 ? s.substr(0, 57) + "..." : s;
  }

  const json& m_j;
  std::string m_type;
  std::string m_path;
};

json message(const char* type) {
  return json{{"type", type}};
}

// The type of a top-level message, for errors before dispatch.
std::string type_of(const json& j) {
  if (j.is_object()) {
    auto it = j.find("type");
    if (it != j.end() && it->is_string()) return it->get<std::string>();
  }
  return "";
}

json parse(std::string_view payload, const char* what) {
  try {
    return json::parse(payload.begin(), payload.end());
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number like 1e999 (found by fuzzing)
    throw Error(ErrorCode::protocol, std::string(what) + " is not JSON: " + e.what());
  }
}

// A message's "type", checked: decode's first step.
std::string checked_type(const json& j, const char* who) {
  if (!j.is_object()) {
    throw Error(ErrorCode::protocol, std::string("bad ") + who + " message: it must be a JSON object, not " +
                                         (j.is_array() || j.is_object() ? "an " : "a ") + j.type_name() + " (" +
                                         j.dump(-1, ' ', false, json::error_handler_t::replace).substr(0, 60) + ")");
  }
  auto it = j.find("type");
  if (it == j.end()) throw Error(ErrorCode::protocol, std::string("bad ") + who + " message: it has no \"type\"");
  if (!it->is_string()) {
    throw Error(ErrorCode::protocol,
                std::string("bad ") + who + " message: its \"type\" must be a string, not " + it->dump());
  }
  return it->get<std::string>();
}

Binary read_binary(const Fields& b) {
  Binary m;
  m.name = b.string("name");
  const std::int64_t version = b.integer("version");
  if (version < 0 || version > INT32_MAX) b.fail("field \"" + b.name("version") + "\" is out of range");
  m.version = static_cast<int>(version);
  m.sha256 = b.string("sha256");
  m.path = b.string("path");
  return m;
}

}  // namespace

std::string_view to_string(FailureKind kind) {
  switch (kind) {
    case FailureKind::validation:
      return "validation";
    case FailureKind::loading:
      return "loading";
    case FailureKind::error:
      return "error";
    case FailureKind::killed:
      return "killed";
  }
  return "error";
}

FailureKind failure_kind_from_string(std::string_view kind) {
  for (FailureKind k : {FailureKind::validation, FailureKind::loading, FailureKind::error, FailureKind::killed}) {
    if (to_string(k) == kind) return k;
  }
  throw Error(ErrorCode::protocol,
              "unknown failure kind \"" + std::string(kind) + "\" (one of validation, loading, error, killed)");
}

// ---- daemon -> worker ---------------------------------------------------------

void to_json(json& j, const Binary& m) {
  j = {{"name", m.name}, {"version", m.version}, {"sha256", m.sha256}, {"path", m.path}};
}
void from_json(const json& j, Binary& m) {
  m = read_binary(Fields(j, k_run, "binary"));
}

void to_json(json& j, const Run& m) {
  j = message(k_run);
  j["job"] = m.job;
  j["entry"] = m.entry;
  j["binaries"] = m.binaries;
  j["config"] = m.config;
  j["context"] = m.context;
  if (!m.steps.is_null()) j["steps"] = m.steps;
  if (!m.cluster_token.empty()) j["cluster_token"] = m.cluster_token;
}
void from_json(const json& j, Run& m) {
  Fields f(j, k_run);
  f.expect_type(k_run);
  m.job = f.string("job");
  m.entry = f.string("entry");
  const json& bins = f.required("binaries");
  if (!bins.is_array()) f.fail("field \"binaries\" must be an array, not " + Fields::article(bins));
  m.binaries.clear();
  for (std::size_t i = 0; i < bins.size(); ++i) {
    m.binaries.push_back(read_binary(f.element(bins[i], "binaries[" + std::to_string(i) + "]")));
  }
  const json& config = f.required("config");
  if (!config.is_object()) f.fail("field \"config\" must be an object, not " + Fields::article(config));
  m.config = config;
  m.context = f.string("context");
  m.steps = j.contains("steps") ? j["steps"] : json();
  if (!m.steps.is_null() && !m.steps.is_array()) f.fail("field \"steps\" must be an array, not " + Fields::article(m.steps));
  m.cluster_token = f.string_or("cluster_token", "");
}

void to_json(json& j, const Cancel& m) {
  j = message(k_cancel);
  j["job"] = m.job;
}
void from_json(const json& j, Cancel& m) {
  Fields f(j, k_cancel);
  f.expect_type(k_cancel);
  m.job = f.string("job");
}

void to_json(json& j, const ObjectsRequest& m) {
  j = message(k_objects);
  j["id"] = m.id;
}
void from_json(const json& j, ObjectsRequest& m) {
  Fields f(j, k_objects);
  f.expect_type(k_objects);
  m.id = f.unsigned_integer("id");
}

void to_json(json& j, const Shutdown&) {
  j = message(k_shutdown);
}
void from_json(const json& j, Shutdown&) {
  Fields f(j, k_shutdown);
  f.expect_type(k_shutdown);
}

// ---- worker -> daemon ---------------------------------------------------------

void to_json(json& j, const SparkInfo& m) {
  j = {{"version", m.version}, {"master", m.master}, {"applicationId", m.application_id}};
}
void from_json(const json& j, SparkInfo& m) {
  Fields f(j, k_hello, "spark");
  m.version = f.string("version");
  m.master = f.string("master");
  m.application_id = f.string("applicationId");
}

void to_json(json& j, const Hello& m) {
  j = message(k_hello);
  j["protocol"] = m.protocol;
  j["runtime"] = m.runtime;
  j["pid"] = m.pid;
  j["capabilities"] = m.capabilities;
  j["version"] = m.version;
  if (m.spark) j["spark"] = *m.spark;
}
void from_json(const json& j, Hello& m) {
  Fields f(j, k_hello);
  f.expect_type(k_hello);
  const std::int64_t protocol = f.integer("protocol");
  if (protocol < INT32_MIN || protocol > INT32_MAX) f.fail("field \"protocol\" is out of range");
  m.protocol = static_cast<int>(protocol);
  m.runtime = f.string("runtime");
  m.pid = f.integer("pid");
  m.capabilities = f.strings("capabilities");
  m.version = f.string_or("version", "");
  m.spark.reset();
  if (const json* spark = f.optional("spark"); spark && !spark->is_null()) {
    Fields s = f.object("spark");
    m.spark = SparkInfo{s.string("version"), s.string("master"), s.string("applicationId")};
  }
}

void to_json(json& j, const Started& m) {
  j = message(k_started);
  j["job"] = m.job;
}
void from_json(const json& j, Started& m) {
  Fields f(j, k_started);
  f.expect_type(k_started);
  m.job = f.string("job");
}

void to_json(json& j, const Log& m) {
  j = message(k_log);
  j["job"] = m.job;
  j["data"] = m.data;
}
void from_json(const json& j, Log& m) {
  Fields f(j, k_log);
  f.expect_type(k_log);
  m.job = f.string("job");
  m.data = f.string("data");
}

void to_json(json& j, const Progress& m) {
  j = message(k_progress);
  j["job"] = m.job;
  j["value"] = m.value;
  j["message"] = m.message;
}
void from_json(const json& j, Progress& m) {
  Fields f(j, k_progress);
  f.expect_type(k_progress);
  m.job = f.string("job");
  m.value = f.number("value");
  m.message = f.string_or("message", "");
}

void to_json(json& j, const Finished& m) {
  j = message(k_finished);
  j["job"] = m.job;
  j["result"] = m.result;
}
void from_json(const json& j, Finished& m) {
  Fields f(j, k_finished);
  f.expect_type(k_finished);
  m.job = f.string("job");
  m.result = f.required("result");
}

void to_json(json& j, const Failed& m) {
  j = message(k_failed);
  j["job"] = m.job;
  j["kind"] = std::string(to_string(m.kind));
  j["error"] = m.error;
}
void from_json(const json& j, Failed& m) {
  Fields f(j, k_failed);
  f.expect_type(k_failed);
  m.job = f.string("job");
  const std::string kind = f.string("kind");
  try {
    m.kind = failure_kind_from_string(kind);
  } catch (const Error& e) {
    f.fail(std::string("field \"kind\": ") + e.what());
  }
  Fields e = f.object("error");
  (void)e.string("message");
  (void)e.string("errorClass");
  (void)e.strings("stack");
  m.error = f.required("error");
}

void to_json(json& j, const ObjectsAnswer& m) {
  j = message(k_objects);
  j["id"] = m.id;
  j["names"] = m.names;
}
void from_json(const json& j, ObjectsAnswer& m) {
  Fields f(j, k_objects);
  f.expect_type(k_objects);
  m.id = f.unsigned_integer("id");
  m.names = f.strings("names");
}

void to_json(json& j, const ErrorReport& m) {
  j = message(k_error);
  j["message"] = m.message;
}
void from_json(const json& j, ErrorReport& m) {
  Fields f(j, k_error);
  f.expect_type(k_error);
  m.message = f.string("message");
}

// ---- partition servers ----------------------------------------------------------

void to_json(json& j, const ClusterOpened& m) {
  j = message(k_cluster_opened);
  j["id"] = m.id;
  j["error"] = m.error;
}
void from_json(const json& j, ClusterOpened& m) {
  Fields f(j, k_cluster_opened);
  f.expect_type(k_cluster_opened);
  m.id = f.unsigned_integer("id");
  m.error = f.string_or("error", "");
}

void to_json(json& j, const ClusterStop& m) {
  j = message(k_cluster_stop);
  j["job"] = m.job;
  j["cluster"] = m.cluster;
}
void from_json(const json& j, ClusterStop& m) {
  Fields f(j, k_cluster_stop);
  f.expect_type(k_cluster_stop);
  m.job = f.string("job");
  m.cluster = f.string("cluster");
}

void to_json(json& j, const ClusterOpen& m) {
  j = message(k_cluster_open);
  j["id"] = m.id;
  j["job"] = m.job;
  j["cluster"] = m.cluster;
  j["partitions"] = m.partitions;
}
void from_json(const json& j, ClusterOpen& m) {
  Fields f(j, k_cluster_open);
  f.expect_type(k_cluster_open);
  m.id = f.unsigned_integer("id");
  m.job = f.string("job");
  m.cluster = f.string("cluster");
  m.partitions = f.integer("partitions");
}

void to_json(json& j, const ClusterRegister& m) {
  j = message(k_cluster_register);
  j["job"] = m.job;
  j["cluster"] = m.cluster;
  j["partition"] = m.partition;
  j["host"] = m.host;
  j["port"] = m.port;
  j["token"] = m.token;
}
void from_json(const json& j, ClusterRegister& m) {
  Fields f(j, k_cluster_register);
  f.expect_type(k_cluster_register);
  m.job = f.string("job");
  m.cluster = f.string("cluster");
  m.partition = f.integer("partition");
  m.host = f.string("host");
  m.port = f.integer("port");
  m.token = f.string("token");
}

void to_json(json& j, const ClusterPartition& m) {
  j = message(k_cluster_partition);
  j["job"] = m.job;
  j["cluster"] = m.cluster;
  j["partition"] = m.partition;
  j["error"] = m.error;
}
void from_json(const json& j, ClusterPartition& m) {
  Fields f(j, k_cluster_partition);
  f.expect_type(k_cluster_partition);
  m.job = f.string("job");
  m.cluster = f.string("cluster");
  m.partition = f.integer("partition");
  m.error = f.string_or("error", "");
}

void to_json(json& j, const ClusterEnded& m) {
  j = message(k_cluster_ended);
  j["job"] = m.job;
  j["cluster"] = m.cluster;
  j["results"] = m.results;
  j["error"] = m.error;
  if (m.killed) j["killed"] = true;
}
void from_json(const json& j, ClusterEnded& m) {
  Fields f(j, k_cluster_ended);
  f.expect_type(k_cluster_ended);
  m.job = f.string("job");
  m.cluster = f.string("cluster");
  const json* results = f.optional("results");
  m.results = results ? *results : json();
  if (!m.results.is_null() && !m.results.is_array()) {
    f.fail("field \"results\" must be an array or null, not " + Fields::article(m.results));
  }
  m.error = f.string_or("error", "");
  const json* killed = f.optional("killed");
  if (killed && !killed->is_boolean()) f.fail("field \"killed\" must be a boolean, not " + Fields::article(*killed));
  m.killed = killed && killed->get<bool>();
}

// ---- decoding -----------------------------------------------------------------

FromWorker decode(const json& m) {
  const std::string type = checked_type(m, "worker");
  if (type == k_hello) return m.get<Hello>();
  if (type == k_started) return m.get<Started>();
  if (type == k_log) return m.get<Log>();
  if (type == k_progress) return m.get<Progress>();
  if (type == k_finished) return m.get<Finished>();
  if (type == k_failed) return m.get<Failed>();
  if (type == k_objects) return m.get<ObjectsAnswer>();
  if (type == k_error) return m.get<ErrorReport>();
  if (type == k_cluster_open) return m.get<ClusterOpen>();
  if (type == k_cluster_register) return m.get<ClusterRegister>();
  if (type == k_cluster_partition) return m.get<ClusterPartition>();
  if (type == k_cluster_ended) return m.get<ClusterEnded>();
  throw Error(ErrorCode::protocol, "unknown worker message type \"" + type +
                                       "\" (a worker sends hello, started, log, progress, finished, failed, "
                                       "objects, error or cluster_open, cluster_register, cluster_partition, "
                                       "cluster_ended)");
}

FromWorker decode_frame(std::string_view payload) {
  return decode(parse(payload, "a worker's frame"));
}

ToWorker decode_for_worker(const json& m) {
  const std::string type = checked_type(m, "daemon");
  if (type == k_run) return m.get<Run>();
  if (type == k_cancel) return m.get<Cancel>();
  if (type == k_objects) return m.get<ObjectsRequest>();
  if (type == k_shutdown) return m.get<Shutdown>();
  if (type == k_cluster_opened) return m.get<ClusterOpened>();
  if (type == k_cluster_stop) return m.get<ClusterStop>();
  throw Error(ErrorCode::protocol, "unknown daemon message type \"" + type +
                                       "\" (the daemon sends run, cancel, objects, shutdown, cluster_opened or "
                                       "cluster_stop)");
}

Hello check_hello(const json& m) {
  const std::string type = type_of(m);
  if (type != k_hello) {
    std::string got = !type.empty()   ? "\"" + type + "\""
                      : m.is_object() ? std::string("an object without a string \"type\"")
                                      : std::string(m.is_array() ? "an " : "a ") + m.type_name();
    throw Error(ErrorCode::protocol, "the worker's first message must be a hello, not " + got);
  }
  auto protocol = m.find("protocol");
  if (protocol == m.end() || !protocol->is_number_integer()) {
    throw Error(ErrorCode::protocol, "the worker's hello has no integer \"protocol\": it does not speak protocol " +
                                         std::to_string(k_protocol_version) +
                                         ": install matching versions of sjsd and the runner");
  }
  if (*protocol != k_protocol_version) {
    throw Error(ErrorCode::protocol, "worker speaks protocol " + protocol->dump() + ", sjsd speaks " +
                                         std::to_string(k_protocol_version) +
                                         ": install matching versions of sjsd and the runner");
  }
  return m.get<Hello>();
}

Hello check_hello_frame(std::string_view payload) {
  return check_hello(parse(payload, "the worker's first frame (its hello)"));
}

json encode(const FromWorker& message) {
  return std::visit([](const auto& m) { return json(m); }, message);
}

json encode(const ToWorker& message) {
  return std::visit([](const auto& m) { return json(m); }, message);
}

}  // namespace sjs::worker

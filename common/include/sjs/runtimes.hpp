// The runtime table: what each runtime and each binary type is, in one place
// (common/src/runtimes.cpp). The CLI (choices, help, checks), the daemon
// (context settings, ENTRY, ad-hoc defaults, hello capabilities, upload type
// detection, the spark-jobserver HTTP labels and content types) and the docs
// check all ask it; nothing else spells a runtime name or a binary type.
// How a runtime's worker is launched is the daemon's half of the table:
// daemon/runtimes/registry.cpp, keyed by the same names.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace sjs {

// ---- binary types ----------------------------------------------------------------

// What a file's first bytes say it is (the daemon tells them apart: daemon/blobs.cpp).
enum class Content {
  zip,                // PK\3\4
  elf_executable,     // an ELF that is not a shared object
  elf_shared_object,  // ET_DYN without an interpreter
  script,             // starts with #!
  text,               // none of the above, no NUL byte in its head
  other,              // none of the above, with NUL bytes
};

// Content plus name endings that mean this type when a file is uploaded without --type.
// A rule with suffixes beats one without for the same content (a zip named .whl is py).
struct DetectRule {
  Content content;
  std::vector<std::string> suffixes;  // lower-case name endings; empty = any name
};

// One way a spark-jobserver client uploads this type: POST /binaries/<name> with one of
// these Content-Types.
struct HttpUpload {
  std::vector<std::string> content_types;  // lower-case
  std::string extension;                   // given to the type check as the file's name (".egg")
  bool zip = false;                        // must be a zip archive (spark-jobserver's own check)
};

struct BinaryTypeSpec {
  std::string name;                           // "jar": `--type jar`, stored with every binary version
  std::string summary;                        // what such a file is, one line
  std::vector<DetectRule> detect;             // how an upload without --type is recognised
  std::vector<Content> accepts;               // content an upload of this type may have
  std::string must_be;                        // why other content is refused
  std::vector<std::string> default_runtimes;  // an ad-hoc job's runtime: the first available one
  std::string http_label;                     // spark-jobserver's "binary-type" ("Jar")
  std::vector<HttpUpload> http_uploads;       // POST /binaries Content-Types
  bool http_jars = false;                     // the type of spark-jobserver's legacy /jars routes
};

// ---- runtimes ----------------------------------------------------------------------

// What a setting's value must look like.
enum class SettingKind {
  any,           // anything (env.NAME, spark.*)
  text,          // a non-empty string or number (not an object or a list)
  whole_number,  // 0, 1, 2... (as a number or its digits)
  count,         // 1, 2, 3...
  jvm_size,      // -Xmx style: digits with an optional k, m, g or t (512m, 2g)
  spark_size,    // Spark's size: digits with an optional b, k(b), m(b), g(b), t(b) or p(b) (512m, 2g)
};

struct SettingSpec {
  std::string key;      // exact ("memory"), or a prefix ending in '.' ("env.", "spark.")
  SettingKind kind = SettingKind::any;
  std::string example;  // a value that validates, for the docs and the table's test
  std::string doc;      // one line
  bool ignored = false; // accepted (spark-jobserver clients send it) but unused by this runtime
};

// Capabilities a runtime may have.
namespace runtime_cap {
inline constexpr const char* k_resident = "resident";            // a worker process lives as long as the context
inline constexpr const char* k_named_objects = "named-objects";  // jobs share objects in the context's memory
inline constexpr const char* k_spark = "spark";                  // started through spark-submit: needs a Spark home
inline constexpr const char* k_steps = "steps";                  // runs step pipelines (job submit --steps)
}  // namespace runtime_cap

struct RuntimeSpec {
  std::string name;
  std::string summary;                         // one line
  bool built = false;                          // false: planned (its binaries upload, its contexts are refused)
  std::vector<std::string> binary_types;       // what it runs
  bool entry_required = false;                 // a job must name an ENTRY
  std::string entry_means;                     // what ENTRY is: "the job's class"
  std::string entry_example;                   // "com.example.MyJob"
  std::vector<SettingSpec> settings;           // what `context create --set` accepts
  std::vector<std::string> capabilities;       // runtime_cap::*
  std::vector<std::string> context_factories;  // lower-case parts of spark-jobserver context-factory names that ask for it
  bool default_for_contexts = false;           // `context create` without --runtime
};

const std::vector<RuntimeSpec>& runtime_table();
const std::vector<BinaryTypeSpec>& binary_type_table();

// nullptr when unknown (planned runtimes are found: check `built`).
const RuntimeSpec* find_runtime(std::string_view name);
const BinaryTypeSpec* find_binary_type(std::string_view name);
bool has_capability(const RuntimeSpec& runtime, std::string_view capability);
bool runs(const RuntimeSpec& runtime, std::string_view binary_type);

// Names in table order: the runtimes this build has (built_only) or all; the binary types.
std::vector<std::string> runtime_names(bool built_only = true);
std::vector<std::string> binary_type_names();
// The built runtimes with a capability ("jvm", "spark" for named-objects).
std::vector<std::string> runtimes_with(std::string_view capability);
// "exec, jvm or spark" (last_word "or"), "exec, jvm, spark" (last_word ""): for messages and help.
std::string list_words(const std::vector<std::string>& words, std::string_view last_word = "or");

// The runtime of `sjs context create` without --runtime.
const RuntimeSpec& default_context_runtime();
// An ad-hoc job's runtime for a binary type: the first of the type's default runtimes that is
// built and `available` (spark: sjsd knows a Spark home); else the first built one, else the first
// listed (a planned runtime: the caller says it is not in this build); "" for an unknown type.
std::string default_runtime_for(std::string_view binary_type, const std::function<bool(const RuntimeSpec&)>& available);
// The runtime a spark-jobserver context-factory asks for (by its name, or a part of the class name
// the table lists); nullptr when it names none (the HTTP route then picks the jar default). Of several
// runtimes a factory names (python and pyspark), the first `available` one with Spark, else the first
// available one, else the first.
const RuntimeSpec* runtime_for_context_factory(std::string_view factory,
                                               const std::function<bool(const RuntimeSpec&)>& available = {});
// "" when a job of this type may run without an ENTRY; else the usage error's message, e.g.
// `binary "wc" is a jar: give the job's class as ENTRY, e.g. sjs job submit wc com.example.MyJob`.
std::string missing_entry_message(std::string_view binary_type, std::string_view binary_name);

// ---- settings ------------------------------------------------------------------------

// Nested settings as dotted keys and their JSON values: {"env":{"A":"b"}} -> ("env.A", "b").
std::vector<std::pair<std::string, const nlohmann::json*>> flatten_setting_values(const nlohmann::json& settings);
// The spec of a dotted key: an exact key, else the longest prefix; nullptr if the runtime has none.
const SettingSpec* find_setting(const RuntimeSpec& runtime, std::string_view key);
// "" if `value` fits the kind, else what it must be ("a size such as 512m or 2g").
std::string check_setting_value(SettingKind kind, const nlohmann::json& value);
// What a kind means, for messages and docs: "a size such as 512m or 2g".
std::string setting_kind_doc(SettingKind kind);
// Checks a new context's settings against its runtime's entry; throws Error(bad_request) naming the
// setting: unknown (listing what the runtime accepts) or a bad value (with the expected form).
void check_context_settings(const RuntimeSpec& runtime, const nlohmann::json& settings);

// ---- spark-jobserver HTTP ------------------------------------------------------------------

struct HttpUploadKind {
  std::string type;       // sjs's binary type
  std::string extension;  // for the type check (".egg", ".whl", ...)
  bool zip = false;
};
// What POST /binaries with this Content-Type uploads (parameters after ';' and case ignored).
std::optional<HttpUploadKind> http_upload_kind(std::string_view content_type);
// The upload of the legacy POST /jars/<name>.
HttpUploadKind http_jars_upload();
// spark-jobserver's "binary-type" of a binary type ("Jar"); an unknown type as it is.
std::string http_binary_label(std::string_view binary_type);
// The binary type of spark-jobserver's legacy /jars routes ("jar").
const std::string& http_jars_type();

}  // namespace sjs

// The runtime table (sjs/runtimes.hpp). Adding a runtime: one entry in runtime_table()
// (and its binary types in binary_type_table()), its launcher in
// daemon/runtimes/registry.cpp, its worker under runtimes/. See docs/ARCHITECTURE.md.
#include "sjs/runtimes.hpp"

#include <algorithm>
#include <cctype>

#include "sjs/errors.hpp"
#include "sjs/util.hpp"

namespace sjs {
namespace {

using K = SettingKind;

// ---- settings shared by several runtimes ----

// Every context's own settings.
std::vector<SettingSpec> context_settings() {
  return {
      {"env.", K::any, "hi", "env.NAME=value: in the environment of the context's jobs (exec) or worker"},
      {"max-queue", K::whole_number, "100", "queued jobs before a submission is refused as busy (0: no bound)"},
      {"limits.memory", K::jvm_size, "256m",
       "memory of each of the context's processes (an exec job, a worker), children included; past it the "
       "kernel kills it"},
      {"limits.processes", K::count, "64",
       "processes and threads of each exec job or worker, children included; a job that hits it is stopped"},
      {"limits.open-files", K::count, "1024", "open files of each process of the context (RLIMIT_NOFILE)"},
  };
}

// Keys spark-jobserver clients send in a context's settings that sjs does not use: accepted and
// ignored, so their context configs carry over (docs/http-api.md).
std::vector<SettingSpec> spark_jobserver_ignored() {
  std::vector<SettingSpec> s = {
      {"context-factory", K::text, "spark.jobserver.context.DefaultSparkContextFactory",
       "spark-jobserver's context class: picks the runtime over HTTP, else ignored"},
      {"context-init-timeout", K::any, "60s", "spark-jobserver's; sjs uses context.start-timeout-seconds"},
      {"forked-jvm-init-timeout", K::any, "30s", "spark-jobserver's; ignored"},
      {"dependent-jar-uris", K::any, "[\"a.jar\"]", "spark-jobserver's; ignored (give jobs --with)"},
      {"stop-context-on-job-error", K::any, "false", "spark-jobserver's; ignored"},
      {"is-adhoc", K::any, "false", "spark-jobserver's; ignored"},
      {"context.", K::any, "x", "spark-jobserver's (context.name, context.id); ignored"},
      {"streaming.", K::any, "1000", "spark-jobserver's streaming contexts; ignored"},
      {"passthrough.", K::any, "true", "spark-jobserver's; ignored"},
      {"hadoop.", K::any, "x", "spark-jobserver's Hadoop configuration; ignored"},
      {"launcher.", K::any, "1g", "spark-jobserver's launcher settings; ignored"},
      {"python.", K::any, "python3", "spark-jobserver's Python settings; ignored"},
  };
  for (auto& x : s) x.ignored = true;
  return s;
}

// Spark settings that runtimes without Spark accept and ignore (spark-jobserver clients send them).
std::vector<SettingSpec> spark_ignored() {
  std::vector<SettingSpec> s = {
      {"num-cpu-cores", K::count, "4", "a spark setting; ignored here"},
      {"memory-per-node", K::spark_size, "2g", "a spark setting; ignored here"},
      {"mem-per-node", K::spark_size, "2g", "a spark setting; ignored here"},
      {"spark.", K::any, "8", "a spark setting; ignored here"},
  };
  for (auto& x : s) x.ignored = true;
  return s;
}

std::vector<SettingSpec> join(std::initializer_list<std::vector<SettingSpec>> parts) {
  std::vector<SettingSpec> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

const char* const k_class_entry = "the job's class";
const char* const k_python_entry = "the job's module:function or module.Class (a function or Class alone for a .py)";

// A Spark context's settings (spark and pyspark): Spark's own options and conf.
std::vector<SettingSpec> spark_settings() {
  return {{"spark-home", K::text, "/opt/spark", "the Spark to use (default: spark.home of sjsd.conf, else SPARK_HOME)"},
          {"spark.master", K::text, "spark://h:7077", "--master (default: spark.master of sjsd.conf, local[*])"},
          {"master", K::text, "yarn", "the same as spark.master"},
          {"num-cpu-cores", K::count, "4", "--conf spark.cores.max=<value>"},
          {"memory-per-node", K::spark_size, "2g", "--conf spark.executor.memory=<value>"},
          {"mem-per-node", K::spark_size, "2g", "the same as memory-per-node"},
          {"driver-memory", K::spark_size, "1g", "--driver-memory <value>"},
          {"jvm-options", K::text, "-Dfoo=bar", "added to the driver's Java options (after the site's spark-defaults.conf)"},
          {"driver-java-options", K::text, "-Dfoo=bar", "the same as jvm-options"},
          {"spark.", K::any, "8", "any other spark.* key: --conf <key>=<value>, unchanged"}};
}

// A Python context's own settings (python and pyspark).
std::vector<SettingSpec> python_settings() {
  return {{"python", K::text, "/opt/venv/bin/python3",
           "the interpreter (default: python.interpreter of sjsd.conf, else PYSPARK_PYTHON, python3); pyspark: also PYSPARK_PYTHON"}};
}

}  // namespace

const std::vector<BinaryTypeSpec>& binary_type_table() {
  using C = Content;
  static const std::vector<BinaryTypeSpec> k_table = {
      {"jar",
       "a Java archive (a zip)",
       {{C::zip, {}}},
       {C::zip},
       "a jar must be a zip archive (it starts with PK\\3\\4)",
       {"spark", "jvm"},
       "Jar",
       {{{"application/java-archive", "application/x-java-archive"}, ".jar", true}},
       true},
      {"exec",
       "an executable: an ELF executable, or a script starting with #! (whatever its name)",
       {{C::elf_executable, {}}, {C::script, {}}},
       {C::elf_executable, C::script},
       "it is not executable: an exec binary must be an ELF executable or a script starting with #!",
       {"exec"},
       "Executable",
       {{{"application/x-sjs-exec", "application/x-executable"}, "", false}}},
      {"py",
       "a Python source file (.py) without #!: one module, named after the binary",
       {{C::text, {".py"}}},
       {C::script, C::text},
       "a Python source binary must be a text file (a .py module)",
       {"python", "pyspark"},
       "Python",
       {{{"text/x-python", "application/x-python", "application/x-sjs-py"}, ".py", false}}},
      {"wheel",
       "a Python wheel (.whl): a zip of packages",
       {{C::zip, {".whl"}}},
       {C::zip},
       "a wheel must be a zip archive (it starts with PK\\3\\4)",
       {"python", "pyspark"},
       "Wheel",
       {{{"application/python-wheel"}, ".whl", true}}},
      {"egg",
       "a Python egg (.egg) or a zip of Python packages (.zip)",
       {{C::zip, {".egg", ".zip"}}},
       {C::zip},
       "an egg must be a zip archive (it starts with PK\\3\\4)",
       {"python", "pyspark"},
       "Egg",
       {{{"application/python-egg", "application/python-archive"}, ".egg", true}}},
      {"so",
       "an ELF shared object (.so)",
       {{C::elf_shared_object, {}}},
       {C::elf_shared_object},
       "a native job must be an ELF shared object (.so)",
       {"native"},
       "SharedObject",
       {{{"application/x-sharedlib", "application/x-sjs-so"}, ".so", false}}},
  };
  return k_table;
}

const std::vector<RuntimeSpec>& runtime_table() {
  namespace cap = runtime_cap;
  static const std::vector<RuntimeSpec> k_table = {
      {"exec",
       "a process per job, for executables and scripts",
       true,
       {"exec"},
       false,
       "argv[0] of the job's process (default: the binary's name)",
       "wordcount",
       join({context_settings(), spark_ignored(), spark_jobserver_ignored()}),
       {},
       {},
       true},
      {"jvm",
       "a resident JVM that runs jar jobs, started with the context and kept until it stops",
       true,
       {"jar"},
       true,
       k_class_entry,
       "com.example.MyJob",
       join({{{"memory", K::jvm_size, "512m", "the JVM's maximum heap: -Xmx<value>"},
              {"jvm-memory", K::jvm_size, "512m", "the same as memory"},
              {"driver-memory", K::jvm_size, "1g", "the same as memory"},
              {"jvm-options", K::text, "-Dfoo=bar -Xss2m", "JVM options, split at spaces"},
              {"driver-java-options", K::text, "-Dfoo=bar", "the same as jvm-options"}},
             context_settings(), spark_ignored(), spark_jobserver_ignored()}),
       {cap::k_resident, cap::k_named_objects, cap::k_steps},
       {},
       false},
      {"spark",
       "the jvm runner started by $SPARK_HOME/bin/spark-submit in client mode, with a SparkContext its jobs share",
       true,
       {"jar"},
       true,
       k_class_entry,
       "com.example.MyJob",
       join({spark_settings(),
             context_settings(), spark_jobserver_ignored()}),
       {cap::k_resident, cap::k_named_objects, cap::k_spark, cap::k_steps},
       {},
       false},
      {"python",
       "a resident Python interpreter running the project's runner; jobs run on its threads",
       true,
       {"py", "wheel", "egg"},
       true,
       k_python_entry,
       "wordcount:run",
       join({python_settings(), context_settings(), spark_ignored(), spark_jobserver_ignored()}),
       {cap::k_resident, cap::k_named_objects, cap::k_steps},
       {"python"},
       false},
      {"pyspark",
       "the python runner started by $SPARK_HOME/bin/spark-submit in client mode, with a SparkSession its jobs share",
       true,
       {"py", "wheel", "egg"},
       true,
       k_python_entry,
       "wordcount:run",
       join({python_settings(), spark_settings(), context_settings(), spark_jobserver_ignored()}),
       {cap::k_resident, cap::k_named_objects, cap::k_spark, cap::k_steps},
       {"python"},
       false},
      // Planned (docs/ARCHITECTURE.md, "Adding a runtime"): its binaries upload, its contexts are refused.
      {"native", "a resident worker that dlopens .so jobs", false, {"so"}, false,
       "the job's symbol (optional)", "wordcount", {}, {cap::k_resident}, {}, false},
  };
  return k_table;
}

const RuntimeSpec* find_runtime(std::string_view name) {
  for (const auto& r : runtime_table()) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

const BinaryTypeSpec* find_binary_type(std::string_view name) {
  for (const auto& t : binary_type_table()) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

bool has_capability(const RuntimeSpec& runtime, std::string_view capability) {
  return std::find(runtime.capabilities.begin(), runtime.capabilities.end(), capability) != runtime.capabilities.end();
}

bool runs(const RuntimeSpec& runtime, std::string_view binary_type) {
  return std::find(runtime.binary_types.begin(), runtime.binary_types.end(), binary_type) != runtime.binary_types.end();
}

std::vector<std::string> runtime_names(bool built_only) {
  std::vector<std::string> out;
  for (const auto& r : runtime_table()) {
    if (r.built || !built_only) out.push_back(r.name);
  }
  return out;
}

std::vector<std::string> binary_type_names() {
  std::vector<std::string> out;
  for (const auto& t : binary_type_table()) out.push_back(t.name);
  return out;
}

std::vector<std::string> runtimes_with(std::string_view capability) {
  std::vector<std::string> out;
  for (const auto& r : runtime_table()) {
    if (r.built && has_capability(r, capability)) out.push_back(r.name);
  }
  return out;
}

std::string list_words(const std::vector<std::string>& words, std::string_view last_word) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) {
      out += (i + 1 == words.size() && !last_word.empty()) ? " " + std::string(last_word) + " " : ", ";
    }
    out += words[i];
  }
  return out;
}

const RuntimeSpec& default_context_runtime() {
  for (const auto& r : runtime_table()) {
    if (r.default_for_contexts) return r;
  }
  return runtime_table().front();
}

std::string default_runtime_for(std::string_view binary_type, const std::function<bool(const RuntimeSpec&)>& available) {
  const BinaryTypeSpec* type = find_binary_type(binary_type);
  if (!type || type->default_runtimes.empty()) return "";
  const RuntimeSpec* first_built = nullptr;
  for (const auto& name : type->default_runtimes) {
    const RuntimeSpec* r = find_runtime(name);
    if (!r || !r->built) continue;
    if (!first_built) first_built = r;
    if (!available || available(*r)) return r->name;
  }
  return first_built ? first_built->name : type->default_runtimes.front();
}

const RuntimeSpec* runtime_for_context_factory(std::string_view factory,
                                               const std::function<bool(const RuntimeSpec&)>& available) {
  const std::string f = ascii_lower(std::string(factory));
  for (const auto& r : runtime_table()) {
    if (f == r.name) return &r;
  }
  std::vector<const RuntimeSpec*> named;
  for (const auto& r : runtime_table()) {
    for (const auto& part : r.context_factories) {
      if (f.find(part) != std::string::npos) {
        named.push_back(&r);
        break;
      }
    }
  }
  auto usable = [&](const RuntimeSpec* r) { return r->built && (!available || available(*r)); };
  for (const RuntimeSpec* r : named) {
    if (usable(r) && has_capability(*r, runtime_cap::k_spark)) return r;
  }
  for (const RuntimeSpec* r : named) {
    if (usable(r)) return r;
  }
  return named.empty() ? nullptr : named.front();
}

std::string missing_entry_message(std::string_view binary_type, std::string_view binary_name) {
  // A type needs an ENTRY when every runtime that runs it does.
  const RuntimeSpec* needing = nullptr;
  for (const auto& r : runtime_table()) {
    if (!runs(r, binary_type)) continue;
    if (!r.entry_required) return "";
    if (!needing) needing = &r;
  }
  if (!needing) return "";
  const std::string name(binary_name);
  return "binary \"" + name + "\" is a " + std::string(binary_type) + ": give " + needing->entry_means +
         " as ENTRY, e.g. sjs job submit " + name + " " + needing->entry_example;
}

// ---- settings ----------------------------------------------------------------------------

namespace {

void flatten(const nlohmann::json& v, const std::string& prefix,
             std::vector<std::pair<std::string, const nlohmann::json*>>& out) {
  if (v.is_object() && !(v.empty() && !prefix.empty())) {
    for (auto it = v.begin(); it != v.end(); ++it) flatten(*it, prefix.empty() ? it.key() : prefix + "." + it.key(), out);
  } else if (!v.is_object()) {
    out.emplace_back(prefix, &v);
  }
}

bool all_digits(const std::string& s, std::size_t from, std::size_t to) {
  if (from >= to) return false;
  for (std::size_t i = from; i < to; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

// Digits, then one of `units` (lower-case; "" allowed when `bare`).
bool is_size(const std::string& text, std::initializer_list<const char*> units) {
  std::size_t n = 0;
  while (n < text.size() && std::isdigit(static_cast<unsigned char>(text[n]))) ++n;
  if (n == 0) return false;
  const std::string unit = ascii_lower(text.substr(n));
  if (unit.empty()) return true;
  for (const char* u : units) {
    if (unit == u) return true;
  }
  return false;
}

std::string scalar_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  return "";
}

std::string shown(const nlohmann::json& v) {
  std::string s = v.dump();
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

}  // namespace

std::vector<std::pair<std::string, const nlohmann::json*>> flatten_setting_values(const nlohmann::json& settings) {
  std::vector<std::pair<std::string, const nlohmann::json*>> out;
  if (settings.is_object()) flatten(settings, "", out);
  return out;
}

const SettingSpec* find_setting(const RuntimeSpec& runtime, std::string_view key) {
  const SettingSpec* best = nullptr;
  for (const auto& s : runtime.settings) {
    if (s.key == key) return &s;
    if (!s.key.empty() && s.key.back() == '.' && key.size() > s.key.size() && starts_with(key, s.key) &&
        (!best || s.key.size() > best->key.size())) {
      best = &s;
    }
  }
  return best;
}

std::string setting_kind_doc(SettingKind kind) {
  switch (kind) {
    case K::any: return "any value";
    case K::text: return "a non-empty value (not an object or a list)";
    case K::whole_number: return "a whole number >= 0";
    case K::count: return "a whole number >= 1";
    case K::jvm_size: return "a size such as 512m or 2g (digits with an optional k, m, g or t)";
    case K::spark_size: return "a size such as 512m or 2g (digits with an optional b, k, m, g, t or p)";
  }
  return "";
}

std::string check_setting_value(SettingKind kind, const nlohmann::json& v) {
  bool ok = true;
  const std::string text = scalar_text(v);
  switch (kind) {
    case K::any: break;
    case K::text: ok = !v.is_structured() && !v.is_null() && !(v.is_string() && text.empty()); break;
    case K::whole_number: ok = all_digits(text, 0, text.size()); break;
    case K::count: ok = all_digits(text, 0, text.size()) && text.find_first_not_of('0') != std::string::npos; break;
    case K::jvm_size: ok = is_size(text, {"k", "m", "g", "t"}); break;
    case K::spark_size: ok = is_size(text, {"b", "k", "kb", "m", "mb", "g", "gb", "t", "tb", "p", "pb"}); break;
  }
  return ok ? "" : setting_kind_doc(kind);
}

void check_context_settings(const RuntimeSpec& runtime, const nlohmann::json& settings) {
  if (!settings.is_object()) throw Error(ErrorCode::bad_request, "context settings must be an object");
  for (const auto& [key, value] : flatten_setting_values(settings)) {
    const SettingSpec* spec = find_setting(runtime, key);
    if (!spec) {
      std::vector<std::string> accepted;
      for (const auto& s : runtime.settings) {
        if (!s.ignored) accepted.push_back(s.key.back() == '.' ? s.key + "*" : s.key);
      }
      throw Error(ErrorCode::bad_request, "unknown setting \"" + key + "\" for the " + runtime.name + " runtime: it accepts " +
                                              list_words(accepted, "and") +
                                              " (and spark-jobserver's context keys, ignored; see docs/runtimes.md)");
    }
    const std::string why = check_setting_value(spec->kind, *value);
    if (!why.empty()) {
      throw Error(ErrorCode::bad_request, "bad value " + shown(*value) + " for setting \"" + key + "\" (" + runtime.name +
                                              " runtime): it must be " + why + ", e.g. " + spec->key +
                                              (spec->key.back() == '.' ? "NAME" : "") + "=" + spec->example);
    }
  }
}

// ---- spark-jobserver HTTP --------------------------------------------------------------------

std::optional<HttpUploadKind> http_upload_kind(std::string_view content_type) {
  std::string ct = ascii_lower(std::string(content_type.substr(0, content_type.find(';'))));
  while (!ct.empty() && std::isspace(static_cast<unsigned char>(ct.back()))) ct.pop_back();
  ct.erase(0, std::min(ct.size(), ct.find_first_not_of(" \t")));
  for (const auto& t : binary_type_table()) {
    for (const auto& u : t.http_uploads) {
      if (std::find(u.content_types.begin(), u.content_types.end(), ct) != u.content_types.end()) {
        return HttpUploadKind{t.name, u.extension, u.zip};
      }
    }
  }
  return std::nullopt;
}

const std::string& http_jars_type() {
  for (const auto& t : binary_type_table()) {
    if (t.http_jars) return t.name;
  }
  return binary_type_table().front().name;
}

HttpUploadKind http_jars_upload() {
  const BinaryTypeSpec* t = find_binary_type(http_jars_type());
  const HttpUpload& u = t->http_uploads.front();
  return HttpUploadKind{t->name, u.extension, u.zip};
}

std::string http_binary_label(std::string_view binary_type) {
  const BinaryTypeSpec* t = find_binary_type(binary_type);
  return t ? t->http_label : std::string(binary_type);
}

}  // namespace sjs

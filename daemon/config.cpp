#include "config.hpp"

#include <thread>

#include "sjs/errors.hpp"

namespace sjs {
namespace {

const nlohmann::json* find_path(const nlohmann::json& conf, const char* a, const char* b) {
  if (!conf.is_object()) return nullptr;
  auto it = conf.find(a);
  if (it == conf.end()) return nullptr;
  if (!b) return &*it;
  if (!it->is_object()) return nullptr;
  auto jt = it->find(b);
  return jt == it->end() ? nullptr : &*jt;
}

template <typename T>
void read_number(const nlohmann::json& conf, const std::string& origin, const char* a, const char* b, T& out) {
  const nlohmann::json* v = find_path(conf, a, b);
  if (!v) return;
  std::string key = std::string(a) + (b ? std::string(".") + b : "");
  if (!v->is_number() || v->get<double>() < 0) {
    throw Error(ErrorCode::bad_request, origin + ": " + key + " must be a number >= 0, not " + v->dump());
  }
  out = v->get<T>();
}

void read_string(const nlohmann::json& conf, const std::string& origin, const char* a, const char* b, std::string& out) {
  const nlohmann::json* v = find_path(conf, a, b);
  if (!v) return;
  if (!v->is_string()) {
    throw Error(ErrorCode::bad_request, origin + ": " + a + "." + b + " must be a string, not " + v->dump());
  }
  out = v->get<std::string>();
}

}  // namespace

void DaemonConfig::apply(const nlohmann::json& conf, const std::string& origin) {
  read_number(conf, origin, "shutdown", "grace-seconds", shutdown_grace_s);
  read_number(conf, origin, "kill", "grace-seconds", kill_grace_s);
  read_number(conf, origin, "retention", "max-jobs", retention_max_jobs);
  read_number(conf, origin, "retention", "max-age-days", retention_max_age_days);
  read_number(conf, origin, "retention", "interval-seconds", retention_interval_s);
  read_number(conf, origin, "adhoc", "max-jobs", adhoc_max_jobs);
  read_number(conf, origin, "adhoc", "max-queue", adhoc_max_queue);
  read_number(conf, origin, "context", "max-jobs", context_max_jobs);
  read_number(conf, origin, "store", "map-size-mb", store_map_size_mb);
  read_number(conf, origin, "store", "max-result-bytes", max_result_bytes);
  read_number(conf, origin, "logs", "max-bytes-per-job", logs_max_bytes_per_job);
  read_number(conf, origin, "clusters", "health-interval-seconds", cluster_health_interval_s);
  read_number(conf, origin, "context", "start-timeout-seconds", context_start_timeout_s);
  read_number(conf, origin, "context", "max-restarts", context_max_restarts);
  read_number(conf, origin, "context", "restart-window-seconds", context_restart_window_s);
  read_string(conf, origin, "log", "level", log_level);
  if (const auto* v = find_path(conf, "limits", "memory"); v || find_path(conf, "limits", "processes") ||
                                                           find_path(conf, "limits", "open-files")) {
    try {
      context_limits = limits_of(nlohmann::json{{"limits", conf["limits"]}}, context_limits);
    } catch (const Error& e) {
      throw Error(ErrorCode::bad_request, origin + ": " + e.what());
    }
  }
  for (auto& [key, value] : launch) {  // every launcher's keys (runtimes/registry.cpp)
    const auto dot = key.find('.');
    read_string(conf, origin, key.substr(0, dot).c_str(), key.substr(dot + 1).c_str(), value);
  }
  read_string(conf, origin, "pipelines", "default-library", pipelines_default_library);
  read_string(conf, origin, "pipelines", "default-context", pipelines_default_context);
  read_string(conf, origin, "http", "listen", http_listen);
  read_string(conf, origin, "http", "tls-cert", http_tls_cert);
  read_string(conf, origin, "http", "tls-key", http_tls_key);
  read_string(conf, origin, "http", "users-file", http_users_file);
  read_string(conf, origin, "http", "cors-origin", http_cors_origin);
  read_number(conf, origin, "http", "max-body-mb", http_max_body_mb);
  read_number(conf, origin, "http", "header-timeout-seconds", http_header_timeout_s);
  if (const auto* v = find_path(conf, "http", "allow-public-without-auth")) {
    if (!v->is_boolean()) throw Error(ErrorCode::bad_request, origin + ": http.allow-public-without-auth must be true or false");
    http_allow_public = v->get<bool>();
  }
  if (!http_listen_flag.empty()) http_listen = http_listen_flag;
  if (!log_level_flag.empty()) log_level = log_level_flag;
  if (adhoc_max_jobs <= 0) adhoc_max_jobs = std::max(2u, std::thread::hardware_concurrency());
  if (context_max_jobs <= 0) context_max_jobs = 1;
  if (retention_interval_s < 0.05) retention_interval_s = 0.05;
}

}  // namespace sjs

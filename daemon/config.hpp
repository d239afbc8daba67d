// sjsd's settings: defaults, overridden by <data dir>/sjsd.conf (or --config),
// overridden by command-line flags. Documented in docs/configuration.md.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "runtimes/launch.hpp"
#include "runtimes/limits.hpp"

namespace sjs {

struct DaemonConfig {
  std::string data_dir;
  std::string socket;
  std::string config_file;             // "" = <data dir>/sjsd.conf if it exists
  bool foreground = false;
  std::string log_level = "info";
  std::string log_level_flag;          // --log-level: beats sjsd.conf
  std::string http_listen_flag;        // --http: beats sjsd.conf

  double shutdown_grace_s = 10;        // SIGTERM: running jobs get this long to end
  double kill_grace_s = 5;             // kill: SIGTERM, then SIGKILL after this long
  std::uint64_t retention_max_jobs = 10000;   // finished jobs kept (0 = no limit)
  double retention_max_age_days = 30;         // finished jobs kept this long (0 = forever)
  double retention_interval_s = 60;
  int adhoc_max_jobs = 0;              // ad-hoc jobs running at once (0 = number of cores, at least 2)
  int adhoc_max_queue = 0;             // ad-hoc jobs waiting (0 = no bound)
  int context_max_jobs = 8;            // default slots of a named context
  ContextLimits context_limits;        // limits.*: every context's, unless its own settings say otherwise
  std::uint64_t store_map_size_mb = 16384;
  double context_start_timeout_s = 120;  // a resident worker must say hello within this
  int context_max_restarts = 5;          // a named context that dies more often than this...
  double context_restart_window_s = 300; // ...within this window stays ERROR
  // The runtimes' launch paths, by sjsd.conf key: each launcher (runtimes/registry.cpp) declares
  // its keys and resolves their defaults at start-up (resolve_launch_paths): jvm.java ("" =
  // $JAVA_HOME/bin/java, else java), jvm.runner-jar ("" = sjs-runner.jar next to sjsd, else
  // ../share/sjs/), spark.home ("" = $SPARK_HOME; empty = no Spark), spark.master (local[*]),
  // python.interpreter ("" = $PYSPARK_PYTHON, else python3), python.runner ("" = python/ next to
  // sjsd, else ../share/sjs/python).
  LaunchPaths launch = default_launch_paths();

  // HTTP front end (off unless http.listen or --http is given).
  std::string http_listen;               // "ADDR:PORT", ":PORT" or "PORT"; "" = off
  bool http_allow_public = false;        // listen on a non-loopback address without auth (warns)
  std::string http_tls_cert;
  std::string http_tls_key;
  std::uint64_t http_max_body_mb = 512;
  double http_header_timeout_s = 10;     // a request's header must arrive whole within this, once begun
  std::string http_users_file;           // "" = <data dir>/users.json if it exists
  std::string http_cors_origin;          // "" = CORS off; "*" or an origin
  std::uint64_t http_max_queue = 0;      // queued jobs per context before 503 NO SLOTS (0 = no bound)
  std::uint64_t max_result_bytes = 32u << 20;
  // A job's log keeps at most this much of its output; the rest is counted and dropped (0 = no cap).
  std::uint64_t logs_max_bytes_per_job = 64u << 20;
  // Step pipelines over HTTP without a library or context (POST /jobs/submit): the step library
  // (a py, wheel or egg binary) and the context ("" = an ad-hoc one) they run on.
  std::string pipelines_default_library;
  std::string pipelines_default_context;
  // Partition servers: sjsd checks every registered server's /control/health this often (0 = never).
  double cluster_health_interval_s = 2;

  // Applies a parsed sjsd.conf; throws Error(bad_request) naming a bad key.
  void apply(const nlohmann::json& conf, const std::string& origin);
};

}  // namespace sjs

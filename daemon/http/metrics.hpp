// GET /metrics: Prometheus text exposition format 0.0.4 (docs/http-api.md,
// "Metrics and OpenAPI"). Gauges are read from the service when scraped; the
// histograms are fed by the service's job observer (start and end of each
// job) and the request counter by the HTTP server's response hook. Everything
// runs on the daemon's core thread, so nothing here locks.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "http/http_types.hpp"
#include "sjs/messages.hpp"

namespace sjs {

class Service;

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  // Appends the _bucket, _sum and _count samples of `name`.
  void render(std::string& out, const std::string& name) const;
  std::uint64_t count() const { return m_count; }

 private:
  std::vector<double> m_bounds;
  std::vector<std::uint64_t> m_buckets;  // per bound, not cumulative; rendered cumulative
  double m_sum = 0;
  std::uint64_t m_count = 0;
};

class Metrics {
 public:
  Metrics();
  // The service's job observer: a job that has started (queue wait) or ended (run time).
  void job_event(const JobInfo& job);
  // Every HTTP response, by status.
  void response(int status);
  // The whole exposition.
  std::string render(const Service& service) const;

 private:
  Histogram m_queue_wait;
  Histogram m_run;
  std::map<int, std::uint64_t> m_responses;
};

// "text/plain; version=0.0.4; charset=utf-8"
extern const char* const k_metrics_content_type;

// Answers GET /metrics (jobs:read when auth is on).
void serve_metrics(const Service& service, const Metrics& metrics, const HttpRequest& request,
                   HttpResponder& responder);

}  // namespace sjs

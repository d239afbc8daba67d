#include "http/metrics.hpp"

#include <sys/stat.h>
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "service.hpp"
#include "store/store.hpp"

namespace sjs {
namespace {

// Queue wait: from sub-millisecond on a warm context to hours behind a long queue.
const std::vector<double> k_wait_bounds = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                           2.5,   5,     10,   30,    60,   300, 900,  3600};
// Run time: from a trivial native job to a long Spark batch.
const std::vector<double> k_run_bounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,  1,    2.5,  5,
                                          10,    30,   60,    120,  300, 600,  1800, 3600, 7200, 21600};

// A float the way Prometheus reads it: integers as such, else the shortest form that round-trips.
std::string number(double v) {
  char buf[64];
  if (v == static_cast<double>(static_cast<long long>(v)) && v > -1e15 && v < 1e15) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
    return buf;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

// Label values escape backslash, double quote and newline.
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out.push_back(c);
  }
  return out;
}

void family(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void sample(std::string& out, const std::string& name, const std::string& labels, double value) {
  out += name;
  if (!labels.empty()) out += "{" + labels + "}";
  out += " " + number(value) + "\n";
}

}  // namespace

const char* const k_metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";

Histogram::Histogram(std::vector<double> upper_bounds)
    : m_bounds(std::move(upper_bounds)), m_buckets(m_bounds.size(), 0) {}

void Histogram::observe(double value) {
  if (value < 0) value = 0;
  auto it = std::lower_bound(m_bounds.begin(), m_bounds.end(), value);  // first bound >= value: le is inclusive
  if (it != m_bounds.end()) ++m_buckets[static_cast<std::size_t>(it - m_bounds.begin())];
  m_sum += value;
  ++m_count;
}

void Histogram::render(std::string& out, const std::string& name) const {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < m_bounds.size(); ++i) {
    cumulative += m_buckets[i];
    sample(out, name + "_bucket", "le=\"" + number(m_bounds[i]) + "\"", static_cast<double>(cumulative));
  }
  sample(out, name + "_bucket", "le=\"+Inf\"", static_cast<double>(m_count));
  sample(out, name + "_sum", "", m_sum);
  sample(out, name + "_count", "", static_cast<double>(m_count));
}

Metrics::Metrics() : m_queue_wait(k_wait_bounds), m_run(k_run_bounds) {}

void Metrics::job_event(const JobInfo& job) {
  if (job.started_ms <= 0) return;  // ended without ever starting (killed in the queue): no sample
  if (is_final_job_state(job.state)) {
    if (job.ended_ms >= job.started_ms) m_run.observe(static_cast<double>(job.ended_ms - job.started_ms) / 1000.0);
  } else if (job.submitted_ms > 0 && job.started_ms >= job.submitted_ms) {
    m_queue_wait.observe(static_cast<double>(job.started_ms - job.submitted_ms) / 1000.0);
  }
}

void Metrics::response(int status) {
  ++m_responses[status];
}

std::string Metrics::render(const Service& service) const {
  std::string out;
  out.reserve(4096);
  const DaemonStatusResult st = service.status();
  const ContextListResult contexts = service.list_contexts();

  family(out, "sjs_jobs", "gauge",
         "Jobs by state: QUEUED and RUNNING live, FINISHED, ERROR and KILLED as recorded (retention applies).");
  sample(out, "sjs_jobs", "state=\"QUEUED\"", st.queued);
  sample(out, "sjs_jobs", "state=\"RUNNING\"", st.running);
  for (const char* s : {job_state::k_finished, job_state::k_error, job_state::k_killed}) {
    sample(out, "sjs_jobs", std::string("state=\"") + s + "\"",
           static_cast<double>(service.store().count_jobs_in_state(s)));
  }

  // Named contexts by name; ad-hoc jobs together under context="(ad-hoc)" (their contexts live one job long).
  long named_queued = 0, in_contexts = 0, adhoc_running = 0;
  std::string depth, running;
  for (const auto& c : contexts.contexts) {
    in_contexts += c.running;
    if (c.adhoc) {
      adhoc_running += c.running;
      continue;
    }
    named_queued += c.queued;
    sample(depth, "sjs_context_queue_depth", "context=\"" + label(c.name) + "\"", c.queued);
    sample(running, "sjs_context_running_jobs", "context=\"" + label(c.name) + "\"", c.running);
  }
  // Live QUEUED jobs = waiting in named queues + waiting for an ad-hoc slot or context + handed to a
  // runtime that has not reported the process yet (in a context's running set, still QUEUED).
  const long handed_over = std::max(0L, in_contexts - st.running);
  const long adhoc_waiting = std::max(0L, st.queued - named_queued - handed_over);
  sample(depth, "sjs_context_queue_depth", "context=\"(ad-hoc)\"", static_cast<double>(adhoc_waiting));
  sample(running, "sjs_context_running_jobs", "context=\"(ad-hoc)\"", static_cast<double>(adhoc_running));
  family(out, "sjs_context_queue_depth", "gauge", "Jobs waiting for a slot, per context.");
  out += depth;
  family(out, "sjs_context_running_jobs", "gauge", "Jobs running, per context.");
  out += running;

  family(out, "sjs_job_queue_wait_seconds", "histogram", "Time from a job's submission to its start.");
  m_queue_wait.render(out, "sjs_job_queue_wait_seconds");
  family(out, "sjs_job_run_seconds", "histogram", "Time from a job's start to its end.");
  m_run.render(out, "sjs_job_run_seconds");

  struct stat sb {};
  const std::string mdb = service.data_dir() + "/store/data.mdb";
  family(out, "sjs_store_bytes", "gauge", "Size of the LMDB store file (data.mdb).");
  sample(out, "sjs_store_bytes", "", ::stat(mdb.c_str(), &sb) == 0 ? static_cast<double>(sb.st_size) : 0.0);

  family(out, "sjs_http_requests_total", "counter", "HTTP responses sent, by status code.");
  for (const auto& [code, n] : m_responses) {
    sample(out, "sjs_http_requests_total", "code=\"" + std::to_string(code) + "\"", static_cast<double>(n));
  }
  return out;
}

void serve_metrics(const Service& service, const Metrics& metrics, const HttpRequest& request,
                   HttpResponder& responder) {
  if (!request.allowed("jobs:read")) {
    responder.send(HttpResponse{
        403,
        "application/json",
        nlohmann::json{{"status", "ERROR"}, {"result", "user \"" + request.user + "\" lacks permission jobs:read"}}
            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
        {}});
    return;
  }
  HttpResponse r;
  r.status = 200;
  r.content_type = k_metrics_content_type;
  r.headers.emplace_back("Cache-Control", "no-store");
  r.body = metrics.render(service);
  responder.send(std::move(r));
}

}  // namespace sjs

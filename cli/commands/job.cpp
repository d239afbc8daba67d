// sjs job submit|status|result|config|log|list|kill|wait. Daemon side:
// daemon/handlers/job.cpp.
#include <iostream>

#include "cli.hpp"
#include "sjs/config.hpp"
#include "sjs/errors.hpp"
#include "sjs/runtimes.hpp"
#include "sjs/util.hpp"

namespace sjs::cli {
namespace {

void print_status(Context& ctx, const JobInfo& j) {
  if (ctx.globals.json) return print_json(j);
  std::vector<std::vector<std::string>> rows = {
      {"id:", j.id},
      {"state:", j.state + (j.end_reason.empty() ? "" : " (" + j.end_reason + ")")},
      {"binary:", j.binary + " version " + std::to_string(j.binary_version) + " (" + j.binary_type + ")"},
      {"entry:", j.entry.empty() ? "-" : j.entry},
      {"context:", j.context + (j.adhoc ? " (ad-hoc)" : "")},
      {"priority:", std::to_string(j.priority)},
      {"submitted:", human_time(j.submitted_ms)},
      {"started:", human_time(j.started_ms)},
      {"ended:", human_time(j.ended_ms)},
      {"duration:", job_duration(j)}};
  if (!j.key.empty()) rows.push_back({"key:", j.key});
  if (j.timeout_s > 0) rows.push_back({"timeout:", nlohmann::json(j.timeout_s).dump() + " s"});
  if (!j.args.empty()) rows.push_back({"args:", nlohmann::json(j.args).dump()});
  if (!j.dependencies.empty()) rows.push_back({"with:", nlohmann::json(j.dependencies).dump()});
  if (!j.steps.is_null()) rows.push_back({"steps:", j.steps.dump()});
  if (j.exit_status >= 0) rows.push_back({"exit status:", std::to_string(j.exit_status)});
  if (j.signal > 0) rows.push_back({"signal:", std::to_string(j.signal)});
  if (j.error.is_object()) rows.push_back({"error:", j.error.value("message", "")});
  print_table(rows);
}

// --steps JSON or --steps @FILE: a pipeline's steps, [[name, arg...], ...].
nlohmann::json parse_steps(const std::string& text) {
  const bool from_file = !text.empty() && text[0] == '@';
  const std::string json_text = from_file ? read_file(text.substr(1)) : text;
  nlohmann::json steps = nlohmann::json::parse(json_text, nullptr, false);
  if (steps.is_discarded()) {
    throw Error(ErrorCode::usage, std::string("--steps ") + (from_file ? text.substr(1) + " " : "") +
                                      "is not JSON: give a list of steps, e.g. --steps '[[\"load_text\", \"in.txt\"], "
                                      "[\"words\"]]' or --steps @steps.json");
  }
  return steps;
}

// `sjs job list --format`: the columns a job row can have, in the order they are listed.
struct JobColumn {
  const char* name;
  const char* header;
  std::string (*value)(const JobInfo& j);
};

const std::vector<JobColumn>& job_columns() {
  static const std::vector<JobColumn> k_columns = {
      {"id", "ID", [](const JobInfo& j) { return j.id; }},
      {"state", "STATE", [](const JobInfo& j) { return j.state; }},
      {"binary", "BINARY", [](const JobInfo& j) { return j.binary + ":" + std::to_string(j.binary_version); }},
      {"entry", "ENTRY", [](const JobInfo& j) { return j.entry.empty() ? std::string("-") : j.entry; }},
      {"context", "CONTEXT", [](const JobInfo& j) { return j.adhoc ? std::string("(ad-hoc)") : j.context; }},
      {"runtime", "RUNTIME", [](const JobInfo& j) { return j.runtime; }},
      {"submitted", "SUBMITTED", [](const JobInfo& j) { return human_time(j.submitted_ms); }},
      {"started", "STARTED", [](const JobInfo& j) { return human_time(j.started_ms); }},
      {"ended", "ENDED", [](const JobInfo& j) { return human_time(j.ended_ms); }},
      {"duration", "DURATION", [](const JobInfo& j) { return job_duration(j); }},
      {"seq", "SEQ", [](const JobInfo& j) { return std::to_string(j.seq); }},
      {"priority", "PRIORITY", [](const JobInfo& j) { return std::to_string(j.priority); }},
      {"exit", "EXIT", [](const JobInfo& j) { return j.exit_status < 0 ? std::string("-") : std::to_string(j.exit_status); }},
      {"reason", "REASON", [](const JobInfo& j) { return j.end_reason.empty() ? std::string("-") : j.end_reason; }},
  };
  return k_columns;
}

std::vector<std::string> job_column_names() {
  std::vector<std::string> names;
  for (const auto& c : job_columns()) names.emplace_back(c.name);
  return names;
}

// The columns of a --format value, in order; throws nothing, returns the problem ("" = fine).
std::vector<const JobColumn*> parse_job_columns(const std::string& format, std::string* problem) {
  std::vector<const JobColumn*> out;
  std::size_t start = 0;
  while (start <= format.size()) {
    const auto comma = format.find(',', start);
    std::string name = ascii_lower(format.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    const JobColumn* found = nullptr;
    for (const auto& c : job_columns()) found = name == c.name ? &c : found;
    if (!found) {
      if (problem) *problem = "unknown column \"" + name + "\": use " + list_words(job_column_names());
      return {};
    }
    out.push_back(found);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string check_job_columns(const std::string& format) {
  std::string problem;
  parse_job_columns(format, &problem);
  return problem;
}

void print_job_table(const std::vector<JobInfo>& jobs, const std::string& format, bool header) {
  const auto columns = parse_job_columns(format, nullptr);
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> head;
  for (const auto* c : columns) head.emplace_back(c->header);
  rows.push_back(head);
  for (const auto& j : jobs) {
    std::vector<std::string> row;
    for (const auto* c : columns) row.push_back(c->value(j));
    rows.push_back(std::move(row));
  }
  print_table(rows, header);
}

}  // namespace

void add_job_commands(CLI::App& app, Context& ctx, std::vector<std::string>& job_args) {
  auto* job = app.add_subcommand("job", "Submit jobs and follow them");
  job->require_subcommand(1);

  struct SubmitOpts {
    JobSubmitArgs a;
    std::vector<std::string> conf;
    std::string conf_file;
    std::string steps;
    bool parsable = false;
  };
  auto so = std::make_shared<SubmitOpts>();
  auto* s = job->add_subcommand("submit", "Submit a job: BINARY [ENTRY] [options] [-- ARGS...], or a pipeline: BINARY --steps STEPS");
  s->add_option("BINARY", so->a.binary, "Binary name (its newest version runs)")->required();
  s->add_option("ENTRY", so->a.entry, "Entry point: class, module:function, symbol; for exec, argv[0] (optional)");
  s->add_option("--with", so->a.with, "Another binary on the job's path (a dependency jar, a Python library), repeatable")
      ->allow_extra_args(false);  // one value per flag: the words after it are positionals
  s->add_option("-c,--context", so->a.context, "Run in this context (default: an ad-hoc one for the job)");
  s->add_option("--conf", so->conf, "Config key=value (HOCON value), repeatable: --conf input.string=\"a b\"")
      ->allow_extra_args(false);  // one value per flag: the words after it are positionals
  s->add_option("--conf-file", so->conf_file, "Config file, JSON or HOCON (--conf pairs override it)");
  s->add_flag("--sync", so->a.sync, "Wait for the job; print its result; exit with its outcome");
  s->add_option("--timeout", so->a.timeout_s, "Kill the job if it runs longer than SECONDS")->check(CLI::NonNegativeNumber);
  s->add_option("--wait-timeout", so->a.wait_timeout_s, "With --sync: stop waiting after SECONDS (exit 6)")
      ->check(CLI::NonNegativeNumber);
  s->add_option("--steps", so->steps,
                "Run a step pipeline of the step library BINARY (no ENTRY): JSON [[\"step\", arg...], ...] or @FILE");
  s->add_option("--priority", so->a.priority, "Higher runs first (default 0)");
  s->add_option("--key", so->a.key, "Idempotency key: a second submit with it returns the first job");
  s->add_flag("--parsable", so->parsable, "For scripts: print the job's id alone, nothing on stderr (not with --sync)");
  s->callback([&ctx, so, &job_args] {
    if (so->parsable && so->a.sync) {
      throw CLI::ValidationError("--parsable", "prints the id of a job submitted without --sync: give one of them");
    }
    JobSubmitArgs a = so->a;
    a.args = job_args;
    if (!so->conf_file.empty()) a.config = parse_config_text(read_file(so->conf_file), so->conf_file);
    for (const auto& kv : so->conf) apply_conf_pair(a.config, kv);
    if (!so->steps.empty()) a.steps = parse_steps(so->steps);
    auto r = ctx.client().call(op::k_job_submit, a).get<JobResult>();
    if (a.sync) {
      ctx.exit_code = report_outcome(ctx, r);
      return;
    }
    if (ctx.globals.json) return print_json(r);
    std::cout << r.job.id << "\n";
    if (so->parsable) return;
    info(ctx, r.existing ? "job " + r.job.id + " exists for key " + a.key + " (" + r.job.state + ")"
                         : "job " + r.job.id + " queued");
  });

  auto id_cmd = [&](const char* name, const char* help) {
    auto id = std::make_shared<std::string>();
    auto* c = job->add_subcommand(name, help);
    c->add_option("ID", *id, "Job id")->required();
    return std::make_pair(c, id);
  };

  auto [st, st_id] = id_cmd("status", "Show a job's state and times");
  st->callback([&ctx, st_id = st_id] {
    print_status(ctx, ctx.client().call(op::k_job_status, JobIdArgs{*st_id}).get<JobResult>().job);
  });

  auto [rs, rs_id] = id_cmd("result", "Print a finished job's result (exit code tells the outcome)");
  rs->callback([&ctx, rs_id = rs_id] {
    auto r = ctx.client().call(op::k_job_result, JobIdArgs{*rs_id}).get<JobResult>();
    ctx.exit_code = report_outcome(ctx, r);
  });

  auto [cf, cf_id] = id_cmd("config", "Print the config a job was submitted with (secrets hidden)");
  cf->callback([&ctx, cf_id = cf_id] {
    auto r = ctx.client().call(op::k_job_config, JobIdArgs{*cf_id}).get<JobConfigResult>();
    print_json(ctx.globals.json ? nlohmann::json(r) : r.config);
  });

  auto [lg, lg_id] = id_cmd("log", "Print a job's output (stdout and stderr)");
  auto follow = std::make_shared<bool>(false);
  auto from = std::make_shared<std::uint64_t>(0);
  lg->add_flag("-f,--follow", *follow, "Keep printing until the job ends; exit with its outcome");
  lg->add_option("--from", *from, "Start at this byte offset");
  lg->callback([&ctx, lg_id = lg_id, follow, from] {
    JobLogArgs a{*lg_id, *from, *follow};
    auto on_part = [&ctx](const nlohmann::json& part) {
      auto chunk = part.get<JobLogChunk>();
      if (ctx.globals.json) {
        std::cout << part.dump() << "\n";
      } else {
        std::cout << chunk.data;
      }
      std::cout.flush();
    };
    auto last = ctx.client().call_stream(op::k_job_log, a, on_part).get<JobLogChunk>();
    if (ctx.globals.json) std::cout << nlohmann::json(last).dump() << "\n";
    if (*follow) {
      JobInfo j;
      j.state = last.state;
      auto r = ctx.client().call(op::k_job_status, JobIdArgs{*lg_id}).get<JobResult>();
      ctx.exit_code = outcome_exit_code(r.job);
    }
  });

  auto la = std::make_shared<JobListArgs>();
  auto* l = job->add_subcommand("list", "List jobs, newest first");
  l->add_option("-n,--limit", la->limit, "At most N jobs (default 50)")->check(CLI::Range(1, 100000));
  l->add_option("--state", la->state, "Only jobs in this state")
      ->transform([](std::string v) {
        for (auto& ch : v) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        return v;
      })
      ->check(CLI::IsMember({"QUEUED", "RUNNING", "FINISHED", "ERROR", "KILLED"}));
  l->add_option("--context", la->context, "Only jobs of this context");
  l->add_option("--before", la->before_seq, "Page: only jobs older than this sequence number");
  struct ListOpts {
    std::string format = "id,state,binary,context,submitted,duration";
    bool no_header = false;
  };
  auto lo = std::make_shared<ListOpts>();
  l->add_option("--format", lo->format,
                "Columns, comma-separated, of: " + list_words(job_column_names(), "") +
                    " (default id,state,binary,context,submitted,duration)")
      ->check(CLI::Validator([](std::string& v) { return check_job_columns(v); }, "COLUMNS"));
  l->add_flag("--no-header", lo->no_header, "No header line (for scripts)");
  l->callback([&ctx, la, lo] {
    auto r = ctx.client().call(op::k_job_list, *la).get<JobListResult>();
    if (ctx.globals.json) return print_json(r);
    print_job_table(r.jobs, lo->format, !lo->no_header);
  });

  auto [kl, kl_id] = id_cmd("kill", "Kill a queued or running job");
  kl->callback([&ctx, kl_id = kl_id] {
    auto r = ctx.client().call(op::k_job_kill, JobIdArgs{*kl_id}).get<JobResult>();
    if (ctx.globals.json) return print_json(r);
    info(ctx, "job " + r.job.id + " " + r.job.state);
  });

  auto [wt, wt_id] = id_cmd("wait", "Wait for a job to end; print its result; exit with its outcome");
  auto wait_timeout = std::make_shared<double>(0);
  wt->add_option("--timeout", *wait_timeout, "Stop waiting after SECONDS (exit 6; the job goes on)")
      ->check(CLI::NonNegativeNumber);
  wt->callback([&ctx, wt_id = wt_id, wait_timeout] {
    auto r = ctx.client().call(op::k_job_wait, JobWaitArgs{*wt_id, *wait_timeout}).get<JobResult>();
    ctx.exit_code = report_outcome(ctx, r);
  });
}

}  // namespace sjs::cli

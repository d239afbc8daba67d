#include "context_manager.hpp"

#include <algorithm>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "sjs/config.hpp"
#include "sjs/errors.hpp"
#include "sjs/runtimes.hpp"
#include "sjs/util.hpp"

namespace sjs {

namespace asio = boost::asio;

ContextManager::ContextManager(asio::io_context& io, store::Store& store, const DaemonConfig& config,
                               RuntimeFactory factory)
    : m_io(io), m_store(store), m_config(config), m_factory(std::move(factory)) {}

RuntimeOptions ContextManager::runtime_options(const std::string& context) const {
  RuntimeOptions o;
  o.kill_grace_s = m_config.kill_grace_s;
  o.context_name = context;
  o.log_path = m_config.data_dir + "/contexts/" + context + ".log";
  o.start_timeout_s = m_config.context_start_timeout_s;
  o.launch = m_config.launch;
  o.limits = m_config.context_limits;
  o.background = m_background;
  return o;
}

Context* ContextManager::find(const std::string& name) {
  auto it = m_contexts.find(name);
  return it == m_contexts.end() ? nullptr : it->second.get();
}

const Context* ContextManager::find(const std::string& name) const {
  auto it = m_contexts.find(name);
  return it == m_contexts.end() ? nullptr : it->second.get();
}

Context& ContextManager::named(const std::string& name) {
  if (Context* c = find(name)) return *c;
  throw Error(ErrorCode::not_found, "context \"" + name + "\" not found (see: sjs context list)", {{"context", name}});
}

const Context& ContextManager::named(const std::string& name) const {
  if (const Context* c = find(name)) return *c;
  throw Error(ErrorCode::not_found, "context \"" + name + "\" not found (see: sjs context list)", {{"context", name}});
}

// (Re)creates a context's runtime and starts it; `done(error)` once it is up or
// has failed, with the context's state, id and times already set.
void ContextManager::start_runtime(Context& ctx, std::function<void(const std::string& error)> done) {
  ctx.ready = false;
  try {
    RuntimeOptions options = runtime_options(ctx.info.name);
    if (!ctx.log_path.empty()) options.log_path = ctx.log_path;
    ctx.runtime = m_factory(ctx.info.runtime, *m_sink, options, ctx.info.settings);
  } catch (const Error& e) {
    ctx.info.state = context_state::k_error;
    ctx.info.error = e.what();
    done(e.what());
    return;
  }
  ctx.runtime->start([this, name = ctx.info.name, done](const std::string& error) {
    Context* c = find(name);
    if (!c) return done("context " + name + " was deleted while it started");
    c->ready = error.empty();
    c->info.state = error.empty() ? context_state::k_running : context_state::k_error;
    c->info.error = error;
    c->info.started_ms = now_ms();
    c->info.id = make_uuid();
    if (!error.empty()) spdlog::error("context {} failed to start: {}", name, error);
    done(error);
  });
}

void ContextManager::start_stored() {
  for (auto& info : m_store.list_contexts()) {
    auto ctx = std::make_unique<Context>();
    ctx->info = info;
    ctx->queue.set_slots(info.max_jobs);
    Context& c = *ctx;
    m_contexts[info.name] = std::move(ctx);
    c.info.state = context_state::k_starting;
    start_runtime(c, [this, name = info.name](const std::string& error) {
      Context* started = find(name);
      if (!started) return;
      m_store.put_context(started->info);
      if (error.empty()) m_hooks.ready(name);
      else fail_queued(*started, "context " + name + " failed to start: " + error);
    });
  }
}

void ContextManager::drop(const std::string& name, const char* state) {
  auto it = m_contexts.find(name);
  if (it == m_contexts.end()) return;
  ContextInfo info = it->second->info;
  m_contexts.erase(it);
  info.state = state;
  if (!info.stopped_ms) info.stopped_ms = now_ms();
  info.running = info.queued = 0;
  info.settings = redact_secrets(info.settings);
  if (!m_ended.count(name)) m_ended_order.push_back(name);
  m_ended[name] = std::move(info);
  while (m_ended_order.size() > k_max_ended) {
    m_ended.erase(m_ended_order.front());
    m_ended_order.pop_front();
  }
}

std::optional<ContextInfo> ContextManager::ended(const std::string& name) const {
  if (m_contexts.count(name)) return std::nullopt;
  auto it = m_ended.find(name);
  if (it == m_ended.end()) return std::nullopt;
  return it->second;
}

void ContextManager::fill_counts(ContextInfo& info) const {
  info.settings = redact_secrets(info.settings);  // what clients see: never a secret
  const Context* c = find(info.name);
  if (!c) return;
  info.running = static_cast<int>(c->running.size());
  info.queued = static_cast<int>(c->queue.queued());
}

void ContextManager::create(const ContextCreateArgs& args, Reply<ContextInfo> reply) {
  check_name("context", args.name);
  if (!std::isalpha(static_cast<unsigned char>(args.name[0]))) {
    throw Error(ErrorCode::bad_request, "context name \"" + args.name + "\" must start with a letter");
  }
  if (m_shutting_down) throw Error(ErrorCode::unavailable, "sjsd is shutting down");
  if (m_contexts.count(args.name)) throw Error(ErrorCode::already_exists, "context \"" + args.name + "\" exists");
  const std::string runtime = args.runtime.empty() ? default_context_runtime().name : args.runtime;
  if (args.max_jobs < 0) throw Error(ErrorCode::bad_request, "--max-jobs must be at least 1");
  // The runtime and its settings, against the runtime table, and settings that cannot work here (spark
  // with no Spark home): refused (bad_request, exit 8) before anything starts.
  check_new_context(runtime, args.settings, runtime_options(args.name));
  auto ctx = std::make_unique<Context>();
  Context& c = *ctx;
  c.info.name = args.name;
  c.info.runtime = runtime;
  c.info.settings = args.settings;
  c.info.max_jobs = args.max_jobs > 0 ? args.max_jobs : m_config.context_max_jobs;
  c.info.created_ms = now_ms();
  c.info.state = context_state::k_starting;
  c.queue.set_slots(c.info.max_jobs);
  m_contexts[args.name] = std::move(ctx);
  start_runtime(c, [this, name = args.name, reply](const std::string& error) {
    if (!error.empty()) {
      if (Context* failed = find(name)) {
        fail_queued(*failed, "context " + name + " failed to start: " + error);
        failed->info.error = error;
        drop(name, context_state::k_error);
      }
      reply.fail(Error(ErrorCode::internal, "context \"" + name + "\" failed to start: " + error));
      return;
    }
    m_store.put_context(named(name).info, [this, name, reply](const store::WriteError& err) {
      if (!err.empty()) return reply.fail(err.to_error("could not record context " + name));
      Context* created = find(name);
      if (!created) return reply.fail(Error(ErrorCode::not_found, "context \"" + name + "\" was deleted"));
      spdlog::info("context {} created ({}, {} slots)", name, created->info.runtime, created->info.max_jobs);
      ContextInfo info = created->info;
      fill_counts(info);
      reply.ok(info);
    });
  });
}

ContextListResult ContextManager::list() const {
  ContextListResult r;
  for (const auto& [name, ctx] : m_contexts) {
    ContextInfo info = ctx->info;
    fill_counts(info);
    r.contexts.push_back(std::move(info));
  }
  return r;
}

ContextInfo ContextManager::show(const std::string& name) const {
  ContextInfo info = named(name).info;
  fill_counts(info);
  return info;
}

void ContextManager::after_idle(const std::string& name, std::function<void()> fn) {
  named(name).on_idle.push_back(std::move(fn));
  check_idle(name);
}

void ContextManager::check_idle(const std::string& name) {
  Context* ctx = find(name);
  if (!ctx || !ctx->running.empty() || ctx->on_idle.empty()) return;
  auto fns = std::move(ctx->on_idle);
  ctx->on_idle.clear();
  for (auto& fn : fns) fn();
}

void ContextManager::remove(const ContextDeleteArgs& args, Reply<ContextInfo> reply) {
  Context& ctx = named(args.name);
  if (ctx.info.adhoc) throw Error(ErrorCode::bad_request, "context \"" + args.name + "\" is ad-hoc: it ends with its job");
  if (ctx.info.state == context_state::k_stopping) {
    throw Error(ErrorCode::in_use, "context \"" + args.name + "\" is already stopping");
  }
  const std::size_t running = ctx.running.size(), queued = ctx.queue.queued();
  if ((running || queued) && !args.force) {
    throw Error(ErrorCode::in_use, "context \"" + args.name + "\" has " + std::to_string(running) + " running and " +
                                       std::to_string(queued) +
                                       " queued job(s): wait for them, or delete with --force to kill them");
  }
  ctx.info.state = context_state::k_stopping;
  // Queued jobs of a deleted context can never run: they end KILLED.
  while (auto id = ctx.queue.take()) {
    ctx.queue.release();
    m_hooks.end_queued(*id, JobOutcome{job_state::k_killed, {}, false,
                                       job_error("Job " + *id + " killed: its context was deleted", "sjs.JobKilled"),
                                       -1, 0, end_reason::k_user, false, ""});
  }
  for (const auto& id : ctx.running) ctx.runtime->cancel(id, end_reason::k_user);
  const std::string name = args.name;
  after_idle(name, [this, name, reply] {
    Context* c = find(name);
    if (!c) return reply.fail(Error(ErrorCode::not_found, "context \"" + name + "\" was deleted"));
    c->runtime->stop([this, name, reply] {
      // Posted: the runtime must not be destroyed from inside its own callback.
      asio::post(m_io, [this, name, reply] {
        Context* stopped = find(name);
        if (!stopped) return reply.fail(Error(ErrorCode::not_found, "context \"" + name + "\" was deleted"));
        stopped->info.state = context_state::k_stopped;
        stopped->info.stopped_ms = now_ms();
        ContextInfo info = stopped->info;
        info.settings = redact_secrets(info.settings);
        drop(name, context_state::k_stopped);
        ::unlink(runtime_options(name).log_path.c_str());
        m_store.delete_context(name, [reply, info](const std::string& error) {
          if (!error.empty()) return reply.fail(Error(ErrorCode::internal, error));
          spdlog::info("context {} deleted", info.name);
          reply.ok(info);
        });
      });
    });
  });
}

void ContextManager::restart(const std::string& name, Reply<ContextInfo> reply) {
  Context& ctx = named(name);
  if (ctx.info.adhoc) throw Error(ErrorCode::bad_request, "context \"" + name + "\" is ad-hoc: it ends with its job");
  if (ctx.info.state == context_state::k_stopping || ctx.info.state == context_state::k_restarting) {
    throw Error(ErrorCode::in_use, "context \"" + name + "\" is already " + ctx.info.state);
  }
  ctx.info.state = context_state::k_restarting;
  ctx.ready = false;
  ctx.deaths.clear();  // an explicit restart starts a fresh restart budget
  for (const auto& id : ctx.running) ctx.runtime->cancel(id, end_reason::k_user);
  const auto gone = [name] { return Error(ErrorCode::not_found, "context \"" + name + "\" was deleted"); };
  after_idle(name, [this, name, reply, gone] {
    Context* c = find(name);
    if (!c) return reply.fail(gone());
    // The runtime must not be replaced from inside its own callback: post.
    c->runtime->stop([this, name, reply, gone] {
      asio::post(m_io, [this, name, reply, gone] {
        Context* stopped = find(name);
        if (!stopped) return reply.fail(gone());
        start_runtime(*stopped, [this, name, reply, gone](const std::string& error) {
          Context* started = find(name);
          if (!started) return reply.fail(gone());
          if (!error.empty()) fail_queued(*started, "context " + name + " failed to restart: " + error);
          m_store.put_context(started->info, [this, name, reply, error, gone](const std::string& err) {
            if (!err.empty()) return reply.fail(Error(ErrorCode::internal, err));
            if (!error.empty()) {
              return reply.fail(Error(ErrorCode::internal, "context \"" + name + "\" failed to restart: " + error));
            }
            Context* restarted = find(name);
            if (!restarted) return reply.fail(gone());
            ContextInfo info = restarted->info;
            fill_counts(info);
            reply.ok(info);
            m_hooks.ready(name);
          });
        });
      });
    });
  });
}

void ContextManager::fail_queued(Context& ctx, const std::string& why) {
  while (auto id = ctx.queue.take()) {
    ctx.queue.release();
    m_hooks.end_queued(*id, JobOutcome{job_state::k_error, {}, false, job_error(why, "sjs.ContextError"), -1, 0, "", false, ""});
  }
}

void ContextManager::runtime_died(Runtime& runtime, const std::string& why) {
  Context* ctx = nullptr;
  for (auto& [name, c] : m_contexts) {
    if (c->runtime.get() == &runtime) ctx = c.get();
  }
  if (!ctx || ctx->info.adhoc) return;  // an ad-hoc context ends with its job anyway
  if (ctx->info.state == context_state::k_stopping || ctx->info.state == context_state::k_restarting) return;
  const std::string name = ctx->info.name;
  const std::int64_t now = now_ms();
  auto& deaths = ctx->deaths;
  deaths.push_back(now);
  const auto window = static_cast<std::int64_t>(m_config.context_restart_window_s * 1000);
  deaths.erase(std::remove_if(deaths.begin(), deaths.end(), [&](std::int64_t t) { return now - t > window; }),
               deaths.end());
  ctx->ready = false;
  if (static_cast<int>(deaths.size()) > m_config.context_max_restarts) {
    ctx->info.state = context_state::k_error;
    ctx->info.error = "its worker died " + std::to_string(deaths.size()) + " times in " +
                      nlohmann::json(m_config.context_restart_window_s).dump() + " s (last: " + why +
                      "): restart it with `sjs context restart " + name + "`";
    spdlog::error("context {}: {}", name, ctx->info.error);
    fail_queued(*ctx, "context " + name + " is in ERROR: " + ctx->info.error);
    m_store.put_context(ctx->info);
    return;
  }
  spdlog::warn("context {}: {}; restarting it", name, why);
  ctx->info.state = context_state::k_restarting;
  ctx->info.error = why;
  asio::post(m_io, [this, name] {
    Context* c = find(name);
    if (!c || c->info.state != context_state::k_restarting) return;
    start_runtime(*c, [this, name](const std::string& error) {
      Context* started = find(name);
      if (!started) return;
      m_store.put_context(started->info);
      if (error.empty()) m_hooks.ready(name);
      else fail_queued(*started, "context " + name + " failed to restart: " + error);
    });
  });
}

void ContextManager::objects(const std::string& name, Reply<nlohmann::json> reply) {
  Context& ctx = named(name);
  if (!ctx.runtime || !ctx.ready) {
    throw Error(ErrorCode::in_use, "context \"" + name + "\" is " + ctx.info.state + ": try again once it is RUNNING");
  }
  ctx.runtime->list_objects([reply](std::vector<std::string> names, const std::string& error) {
    if (!error.empty()) return reply.fail(Error(ErrorCode::bad_request, error));
    reply.ok(nlohmann::json{{"objects", names}});
  });
}

void ContextManager::start_adhoc(const std::string& name, const std::string& runtime, const nlohmann::json& settings,
                                 const std::string& log_path, std::function<void(const std::string& error)> done) {
  auto ctx = std::make_unique<Context>();
  Context& c = *ctx;
  c.info.name = name;
  c.info.runtime = runtime;
  c.info.adhoc = true;
  c.info.settings = settings;
  c.info.max_jobs = 1;
  c.info.created_ms = now_ms();
  c.info.state = context_state::k_starting;
  c.info.id = make_uuid();
  c.log_path = log_path;  // one job: its worker's output is the job's log
  m_contexts[name] = std::move(ctx);
  start_runtime(c, std::move(done));
}

void ContextManager::end_adhoc(const std::string& name, const std::string& error) {
  Context* c = find(name);
  if (!c) return;
  c->info.state = context_state::k_stopping;
  if (!error.empty()) c->info.error = error;
  auto drop_it = [this, name, failed = !error.empty()] {
    drop(name, failed ? context_state::k_error : context_state::k_stopped);
  };
  // Posted either way: the runtime must not be destroyed from inside its own callback.
  if (c->runtime) {
    c->runtime->stop([this, drop_it] { asio::post(m_io, drop_it); });
  } else {
    asio::post(m_io, drop_it);
  }
}

void ContextManager::cancel_running(const std::string& reason) {
  for (auto& [name, ctx] : m_contexts) {
    for (const auto& id : ctx->running) {
      spdlog::warn("job {} still running after the grace period: killing it", id);
      ctx->runtime->cancel(id, reason);
    }
  }
}

std::size_t ContextManager::running_jobs() const {
  std::size_t n = 0;
  for (const auto& [name, ctx] : m_contexts) n += ctx->running.size();
  return n;
}

std::size_t ContextManager::named_count() const {
  std::size_t n = 0;
  for (const auto& [name, ctx] : m_contexts) n += ctx->info.adhoc ? 0 : 1;
  return n;
}

void ContextManager::stop_all(std::function<void()> done) {
  auto finished = std::make_shared<std::function<void()>>(std::move(done));
  auto pending = std::make_shared<std::size_t>(1);
  auto one_stopped = [this, pending, finished] {
    if (--*pending == 0) asio::post(m_io, [finished] { (*finished)(); });
  };
  for (auto& [name, ctx] : m_contexts) {
    if (!ctx->runtime) continue;
    ++*pending;
    ctx->runtime->stop(one_stopped);
  }
  one_stopped();
}

}  // namespace sjs

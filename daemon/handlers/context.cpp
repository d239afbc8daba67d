// context.* ops; the CLI side is cli/commands/context.cpp.
#include "handlers/handlers.hpp"
#include "service.hpp"

namespace sjs {
namespace {

void context_create(Service& s, const nlohmann::json& args, const Responder& r) {
  s.create_context(parse_args<ContextCreateArgs>(args), Reply<ContextInfo>{answer<ContextInfo>(r), r.fail});
}

void context_list(Service& s, const nlohmann::json&, const Responder& r) { r.done(s.list_contexts()); }

void context_show(Service& s, const nlohmann::json& args, const Responder& r) {
  r.done(s.show_context(parse_args<NameArgs>(args).name));
}

void context_delete(Service& s, const nlohmann::json& args, const Responder& r) {
  s.delete_context(parse_args<ContextDeleteArgs>(args), Reply<ContextInfo>{answer<ContextInfo>(r), r.fail});
}

void context_restart(Service& s, const nlohmann::json& args, const Responder& r) {
  s.restart_context(parse_args<NameArgs>(args).name, Reply<ContextInfo>{answer<ContextInfo>(r), r.fail});
}

void context_objects(Service& s, const nlohmann::json& args, const Responder& r) {
  s.context_objects(parse_args<NameArgs>(args).name, Reply<nlohmann::json>{r.done, r.fail});
}

}  // namespace

Handler context_handler(const std::string& op) {
  if (op == op::k_context_create) return context_create;
  if (op == op::k_context_list) return context_list;
  if (op == op::k_context_show) return context_show;
  if (op == op::k_context_delete) return context_delete;
  if (op == op::k_context_restart) return context_restart;
  if (op == op::k_context_objects) return context_objects;
  return nullptr;
}

}  // namespace sjs

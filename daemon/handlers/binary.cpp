// binary.* ops; the CLI side is cli/commands/binary.cpp.
#include "handlers/handlers.hpp"
#include "service.hpp"

namespace sjs {
namespace {

void binary_upload(Service& s, const nlohmann::json& args, const Responder& r) {
  s.upload_binary(parse_args<BinaryUploadArgs>(args), false, Reply<BinaryInfo>{answer<BinaryInfo>(r), r.fail});
}

void binary_list(Service& s, const nlohmann::json&, const Responder& r) { r.done(s.list_binaries()); }

void binary_show(Service& s, const nlohmann::json& args, const Responder& r) {
  r.done(s.show_binary(parse_args<NameArgs>(args).name));
}

void binary_delete(Service& s, const nlohmann::json& args, const Responder& r) {
  s.delete_binary(parse_args<BinaryDeleteArgs>(args), Reply<nlohmann::json>{r.done, r.fail});
}

void binary_steps(Service& s, const nlohmann::json& args, const Responder& r) {
  s.binary_steps(parse_args<BinaryStepsArgs>(args), Reply<nlohmann::json>{r.done, r.fail});
}

}  // namespace

Handler binary_handler(const std::string& op) {
  if (op == op::k_binary_upload) return binary_upload;
  if (op == op::k_binary_list) return binary_list;
  if (op == op::k_binary_show) return binary_show;
  if (op == op::k_binary_delete) return binary_delete;
  if (op == op::k_binary_steps) return binary_steps;
  return nullptr;
}

}  // namespace sjs

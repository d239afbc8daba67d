// sjs binary upload|list|show|delete, and sjs jar upload. Daemon side:
// daemon/handlers/binary.cpp.
#include <algorithm>
#include <iostream>

#include "cli.hpp"
#include "sjs/paths.hpp"
#include "sjs/runtimes.hpp"

namespace sjs::cli {
namespace {

void print_binary(Context& ctx, const BinaryInfo& b, const char* verb) {
  if (ctx.globals.json) {
    print_json(b);
    return;
  }
  info(ctx, std::string(verb) + " " + b.name + " version " + std::to_string(b.version) + " (" + b.type + ", " +
                human_size(b.size) + ", sha256 " + b.sha256.substr(0, 12) + ")");
}

// Over the socket sjsd reads the file itself; over HTTP the file is sent (Transport::upload).
void upload(Context& ctx, const std::string& name, const std::string& file, const std::string& type) {
  auto b = ctx.client().upload(name, file, type).get<BinaryInfo>();
  print_binary(ctx, b, "uploaded");
}

}  // namespace

void add_binary_commands(CLI::App& app, Context& ctx) {
  auto* bin = app.add_subcommand("binary", "Upload and manage binaries (jars, executables, .py, .so)");
  bin->require_subcommand(1);

  struct UploadOpts {
    std::string name, file, type;
  };
  auto up = std::make_shared<UploadOpts>();
  auto* u = bin->add_subcommand("upload", "Upload FILE as a new version of binary NAME");
  u->add_option("NAME", up->name, "Binary name: letters, digits, '.', '_', '-'")->required();
  u->add_option("FILE", up->file, "The file to upload")->required();
  // The binary types of the runtime table (sjs/runtimes.hpp); the docs check parses "one of: ...".
  const std::vector<std::string> types = binary_type_names();
  u->add_option("--type", up->type, "Binary type, one of: " + list_words(types, "") + " (default: detected from the content)")
      ->check(CLI::Validator(
          [types](std::string& v) -> std::string {
            if (std::find(types.begin(), types.end(), v) != types.end()) return "";
            return "unknown binary type \"" + v + "\": use " + list_words(types);
          },
          ""));
  u->callback([&ctx, up] { upload(ctx, up->name, up->file, up->type); });

  auto* l = bin->add_subcommand("list", "List binaries (newest version of each)");
  l->callback([&ctx] {
    auto r = ctx.client().call(op::k_binary_list, nlohmann::json::object()).get<BinaryListResult>();
    if (ctx.globals.json) return print_json(r);
    std::vector<std::vector<std::string>> rows = {{"NAME", "TYPE", "VERSION", "SIZE", "UPLOADED"}};
    for (const auto& b : r.binaries) {
      rows.push_back({b.name, b.type, std::to_string(b.version), human_size(b.size), human_time(b.uploaded_ms)});
    }
    print_table(rows);
  });

  auto show_name = std::make_shared<std::string>();
  auto* s = bin->add_subcommand("show", "Show every version of a binary");
  s->add_option("NAME", *show_name, "Binary name")->required();
  s->callback([&ctx, show_name] {
    auto r = ctx.client().call(op::k_binary_show, NameArgs{*show_name}).get<BinaryShowResult>();
    if (ctx.globals.json) return print_json(r);
    std::vector<std::vector<std::string>> rows = {{"VERSION", "TYPE", "SIZE", "SHA256", "UPLOADED"}};
    for (const auto& b : r.versions) {
      rows.push_back({std::to_string(b.version), b.type, human_size(b.size), b.sha256, human_time(b.uploaded_ms)});
    }
    print_table(rows);
  });

  auto del = std::make_shared<BinaryDeleteArgs>();
  auto* d = bin->add_subcommand("delete", "Delete a binary (every version, or one with --version)");
  d->add_option("NAME", del->name, "Binary name")->required();
  d->add_option("--version", del->version, "Only this version")->check(CLI::PositiveNumber);
  d->callback([&ctx, del] {
    auto r = ctx.client().call(op::k_binary_delete, *del);
    if (ctx.globals.json) return print_json(r);
    info(ctx, "deleted " + std::to_string(r.value("deleted", 0)) + " version(s) of " + del->name);
  });

  auto steps = std::make_shared<BinaryStepsArgs>();
  auto* st = bin->add_subcommand("steps", "List a step library's steps: name, parameters, first doc line");
  st->add_option("NAME", steps->name, "Binary name (a Python step library)")->required();
  st->add_option("--version", steps->version, "This version (default: the newest)")->check(CLI::PositiveNumber);
  st->callback([&ctx, steps] {
    auto r = ctx.client().call(op::k_binary_steps, *steps);
    if (ctx.globals.json) return print_json(r);
    std::vector<std::vector<std::string>> rows = {{"STEP", "PARAMETERS", "DESCRIPTION"}};
    for (const auto& step : r.value("steps", nlohmann::json::array())) {
      std::string params;
      for (const auto& p : step.value("params", nlohmann::json::array())) {
        params += (params.empty() ? "" : ", ") + (p.is_string() ? p.get<std::string>() : p.dump());
      }
      rows.push_back({step.value("name", ""), params.empty() ? "-" : params, step.value("doc", "")});
    }
    print_table(rows);
  });

  // spark-jobserver's /jars: the runtime table's jar type.
  const std::string jar_type = http_jars_type();
  auto* jar = app.add_subcommand(jar_type, "Jars (same as `sjs binary ... --type " + jar_type + "`)");
  jar->require_subcommand(1);
  auto jup = std::make_shared<UploadOpts>();
  auto* ju = jar->add_subcommand("upload", "Upload a jar as a new version of binary NAME");
  ju->add_option("NAME", jup->name, "Binary name")->required();
  ju->add_option("FILE", jup->file, "The jar file")->required();
  ju->callback([&ctx, jup, jar_type] { upload(ctx, jup->name, jup->file, jar_type); });
}

}  // namespace sjs::cli

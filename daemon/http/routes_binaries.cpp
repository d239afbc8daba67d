// spark-jobserver's /binaries and the legacy /jars routes (docs/http-api.md).
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <optional>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "http/routes.hpp"
#include "http/sjs_api.hpp"
#include "sjs/config.hpp"
#include "sjs/hocon.hpp"
#include "sjs/paths.hpp"
#include "sjs/runtimes.hpp"
#include "sjs/util.hpp"

namespace sjs::jobserver {

namespace {

std::string binary_type_label(const std::string& type) { return http_binary_label(type); }
// What a POST /binaries Content-Type uploads.
struct UploadKind {
  std::string type;       // sjs's binary type
  std::string extension;  // for the service's type check (".egg", ".whl", ...)
  bool zip = false;       // must be a zip archive (spark-jobserver's check)
};

std::optional<UploadKind> upload_kind(const std::string& content_type) {
  // The runtime table's Content-Types of each binary type (docs/http-api.md).
  if (auto k = http_upload_kind(content_type)) return UploadKind{k->type, k->extension, k->zip};
  return std::nullopt;
}

// ---- the router's helpers -------------------------------------------------------

// Runs `fn` inside a service callback: an exception must not escape into the service.
std::string head_of(const HttpRequest& req, std::size_t n) {
  if (req.body_file.empty()) return req.body.substr(0, n);
  std::string head(n, '\0');
  int fd = ::open(req.body_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  ssize_t got = ::read(fd, head.data(), n);
  ::close(fd);
  head.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
  return head;
}

bool is_zip(const std::string& head) { return head.size() >= 4 && head.compare(0, 4, "PK\x03\x04", 4) == 0; }

// The upload as a file the service may move in: the streamed body file, or the
// in-memory body written out (then `*temp` is true and the caller owns it).
std::string upload_file(const Service& s, const HttpRequest& req, bool* temp) {
  *temp = false;
  if (!req.body_file.empty()) return req.body_file;
  const std::string dir = s.data_dir() + "/uploads";
  make_dirs(dir, 0700);
  const std::string path = dir + "/http-" + make_uuid();
  write_file_atomic(path, req.body, 0600);
  *temp = true;
  return path;
}

// ---- /binaries and /jars ----------------------------------------------------------

void list_binaries(const Call& c, bool legacy_jars) {
  json out = json::object();
  for (const auto& b : c.s.list_binaries().binaries) {
    if (legacy_jars) {
      if (b.type == http_jars_type()) out[b.name] = format_utc(b.uploaded_ms);
    } else {
      out[b.name] = json{{"binary-type", binary_type_label(b.type)}, {"upload-time", format_utc(b.uploaded_ms)}};
    }
  }
  c.send(json_response(200, out));
}

void show_binary(const Call& c, const std::string& name) {
  try {
    const auto versions = c.s.show_binary(name).versions;
    const BinaryInfo& b = versions.back();
    c.send(json_response(200, json{{"app-name", b.name},
                                   {"binary-type", binary_type_label(b.type)},
                                   {"upload-time", format_utc(b.uploaded_ms)},
                                   {"version", b.version}}));
  } catch (const Error& e) {
    if (e.code() != ErrorCode::not_found) throw;
    c.send(e1(404, "Can't find binary with name " + name));
  }
}

// POST /binaries/<name> (by Content-Type) and the legacy POST /jars/<name> (always a jar).
void upload_binary(const Call& c, const std::string& name, bool legacy_jar) {
  check_name("binary", name);
  std::optional<UploadKind> kind =
      legacy_jar ? UploadKind{http_jars_upload().type, http_jars_upload().extension, true} : upload_kind(c.req.header("content-type"));
  if (!kind) {
    const std::string ct = c.req.header("content-type");
    c.send(e1(415, "Unsupported binary type " + (ct.empty() ? std::string("(no Content-Type)") : ct.substr(0, 200))));
    return;
  }
  const std::string wrong_format = legacy_jar ? "Jar is not of the right format" : "Binary is not of the right format";
  if (kind->zip && !is_zip(head_of(c.req, 4))) {
    c.send(e1(400, wrong_format));
    return;
  }
  bool temp = false;
  const std::string path = upload_file(c.s, c.req, &temp);
  BinaryUploadArgs args{name, path, kind->type, name + kind->extension};
  const Res res = c.res;
  const bool zip = kind->zip;
  auto cleanup = [path, temp] {
    if (temp) ::unlink(path.c_str());
  };
  try {
    c.s.upload_binary(args, true,
                      Reply<BinaryInfo>{[res, legacy_jar](BinaryInfo) {
                                          res->send(legacy_jar ? success(200, "Jar uploaded") : success(201));
                                        },
                                        [res, zip, wrong_format, cleanup](const Error& e) {
                                          cleanup();
                                          if (e.code() == ErrorCode::internal) {
                                            res->send(e2(500, "Storage Failure",
                                                         job_error(e.what(), "sjs.StorageFailure")));
                                          } else if (e.code() == ErrorCode::bad_request && zip) {
                                            res->send(e1(400, wrong_format + ": " + e.what()));
                                          } else {
                                            res->send(from_error(e));
                                          }
                                        }});
  } catch (...) {
    cleanup();
    throw;
  }
}

void delete_binary(const Call& c, const std::string& name) {
  const Res res = c.res;
  auto fail = [res, name](const Error& e) {
    if (e.code() == ErrorCode::not_found) return res->send(e1(404, "can't find binary with name " + name));
    if (e.code() == ErrorCode::in_use) {
      std::string ids;  // the service names the jobs in its details
      if (e.details().is_object() && e.details().contains("jobs") && e.details()["jobs"].is_array()) {
        for (const auto& id : e.details()["jobs"]) ids += (ids.empty() ? "" : ", ") + id.get<std::string>();
      }
      return res->send(e1(403, "Binary is in use by job(s): " + ids));
    }
    res->send(from_error(e));
  };
  try {
    c.s.delete_binary(BinaryDeleteArgs{name, 0}, Reply<json>{[res](json) { res->send(success(200)); }, fail});
  } catch (const Error& e) {
    fail(e);
  }
}

}  // namespace

void route_binaries(const Call& c, bool legacy_jars) {
  const auto& seg = c.req.segments;
  const std::string& m = c.req.method;
  if (seg.size() == 1) {
    if (m != "GET") return c.method_not_allowed("GET");
    if (c.permitted("binaries:read")) list_binaries(c, legacy_jars);
    return;
  }
  const std::string& name = seg[1];
  if (m == "GET" && !legacy_jars) {
    if (c.permitted("binaries:read")) show_binary(c, name);
  } else if (m == "POST" || (m == "PUT" && legacy_jars)) {
    if (c.permitted("binaries:upload")) upload_binary(c, name, legacy_jars);
  } else if (m == "DELETE" && !legacy_jars) {
    if (c.permitted("binaries:delete")) delete_binary(c, name);
  } else {
    c.method_not_allowed(legacy_jars ? "POST" : "GET, POST, DELETE");
  }
}

}  // namespace sjs::jobserver

// spark-jobserver's /data routes (docs/http-api.md).
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
#include "sjs/util.hpp"

namespace sjs::jobserver {

// ---- /data ------------------------------------------------------------------------

void route_data(const Call& c) {
  const auto& seg = c.req.segments;
  const std::string& m = c.req.method;
  DataFiles& files = c.s.data_files();
  if (m == "DELETE" && seg.size() >= 2) {
    if (!c.permitted("data:delete")) return;
    // The file's absolute path, URL-encoded into one segment (or left as a path).
    const std::string path = c.req.path.substr(std::string("/data/").size());
    if (path.find('\0') != std::string::npos) return c.send(e1(400, "a file name may not contain a NUL byte"));
    if (!files.remove(path)) return c.send(e1(400, "Unable to delete data file '" + path.substr(0, 300) + "'."));
    return c.send(success(200, "Data file deleted"));
  }
  if (std::string why = bad_segment(seg, 1); !why.empty()) return c.send(e1(400, why));
  if (seg.size() == 1) {
    if (m == "GET") {
      if (c.permitted("data:read")) c.send(json_response(200, files.list()));
    } else if (m == "PUT") {
      if (!c.permitted("data:reset")) return;
      if (c.req.query_value("reset") != "reboot") return c.send(e1(400, "PUT /data needs reset=reboot"));
      files.remove_all();
      const auto sync = parse_bool(c.req.query_value("sync", "true"));
      c.send(success(200, sync && !*sync ? "Data reset requested" : "Data reset"));
    } else {
      c.method_not_allowed("GET, PUT");
    }
    return;
  }
  if (seg.size() == 2 && m == "POST") {
    if (!c.permitted("data:upload")) return;
    const std::string name = c.req.body_file.empty() ? files.store_bytes(seg[1], c.req.body)
                                                     : files.store_file(seg[1], c.req.body_file);
    return c.send(json_response(200, json{{"result", {{"filename", name}}}}));
  }
  if (seg.size() == 2) return c.method_not_allowed("POST, DELETE");
  c.send(e1(404, "no route for " + m + " " + c.req.path));
}

}  // namespace sjs::jobserver

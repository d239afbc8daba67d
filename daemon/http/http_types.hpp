// What the HTTP front end hands to its routes, and how routes answer. Routes
// (routes.cpp) translate to and from the service layer; they hold no business
// logic. Everything runs on the core thread.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace sjs {

struct HttpRequest {
  std::string method;                         // after ?_method= override
  std::string target;                         // as received
  std::string path;                           // percent-decoded, without the query
  std::vector<std::string> segments;          // path split on '/', percent-decoded, empty ones dropped
  std::multimap<std::string, std::string> query;
  std::map<std::string, std::string> headers; // lower-case names
  std::string body;                           // small bodies
  std::string body_file;                      // large bodies (uploads) were streamed here; "" if none
  std::string user;                           // authenticated user, "" if auth is off
  bool auth_enabled = false;                  // false: every permission is granted
  std::set<std::string> permissions;          // the user's, e.g. "*", "jobs", "jobs:start"
  std::string remote;                         // peer address

  // spark-jobserver's permission names: "<area>:<action>" with area binaries,
  // contexts, jobs or data; granted by "*", the area alone, or the pair.
  bool allowed(const std::string& permission) const {
    if (!auth_enabled || permissions.count("*") || permissions.count(permission)) return true;
    return permissions.count(permission.substr(0, permission.find(':'))) > 0;
  }

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
  bool has_query(const std::string& key) const { return query.count(key) > 0; }
  std::string query_value(const std::string& key, const std::string& fallback = "") const {
    auto it = query.find(key);
    return it == query.end() ? fallback : it->second;
  }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// One request's answer: a whole response, or a chunked stream.
class HttpResponder {
 public:
  virtual ~HttpResponder() = default;
  virtual void send(HttpResponse response) = 0;
  virtual void begin_stream(int status, const std::string& content_type) = 0;
  virtual void write_chunk(const std::string& data) = 0;
  virtual void end_stream() = 0;
  virtual bool open() const = 0;
};

}  // namespace sjs

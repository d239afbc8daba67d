// sjs's own HTTP API: the client protocol's ops over HTTP, for `sjs --url`.
//   POST /sjs/v1/<op>            body: the op's args (JSON)  -> the protocol envelope
//   POST /sjs/v1/upload/<name>   body: the file's bytes; ?type=jar|exec|py|so
// A streamed op (job.log with follow) answers with chunked NDJSON: one envelope per line.
#include <nlohmann/json.hpp>

#include "handlers/handlers.hpp"
#include "http/routes.hpp"
#include "service.hpp"
#include "sjs/errors.hpp"
#include "sjs/messages.hpp"

namespace sjs {
namespace {

nlohmann::json envelope_error(const Error& e) {
  return {{"ok", false}, {"error", {{"code", std::string(error_name(e.code()))}, {"message", e.what()}}}};
}

// A protocol Responder that answers over HTTP.
Responder http_responder(const std::shared_ptr<HttpResponder>& http) {
  auto streaming = std::make_shared<bool>(false);
  Responder r;
  r.part = [http, streaming](nlohmann::json result) {
    if (!*streaming) {
      *streaming = true;
      http->begin_stream(200, "application/x-ndjson");
    }
    http->write_chunk(nlohmann::json{{"ok", true}, {"more", true}, {"result", std::move(result)}}.dump() + "\n");
  };
  r.done = [http, streaming](nlohmann::json result) {
    nlohmann::json env = {{"ok", true}, {"result", std::move(result)}};
    if (*streaming) {
      http->write_chunk(env.dump() + "\n");
      http->end_stream();
      return;
    }
    http->send(HttpResponse{200, "application/json", env.dump(), {}});
  };
  r.fail = [http, streaming](const Error& e) {
    if (*streaming) {
      http->write_chunk(envelope_error(e).dump() + "\n");
      http->end_stream();
      return;
    }
    http->send(HttpResponse{error_info(e.code()).http_status, "application/json", envelope_error(e).dump(), {}});
  };
  r.open = [http] { return http->open(); };
  return r;
}

}  // namespace

bool route_rpc(Service& service, const HttpRequest& req, const std::shared_ptr<HttpResponder>& responder) {
  const auto& s = req.segments;
  if (s.size() < 2 || s[0] != "sjs" || s[1] != "v1") return false;
  Responder r = http_responder(responder);
  if (req.method != "POST") {
    r.fail(Error(ErrorCode::usage, "sjs's API takes POST /sjs/v1/<op> (docs/http-api.md)"));
    return true;
  }
  if (s.size() == 4 && s[2] == "upload") {
    if (req.body_file.empty()) {
      r.fail(Error(ErrorCode::bad_request, "upload: the request has no body"));
      return true;
    }
    BinaryUploadArgs args{s[3], req.body_file, req.query_value("type")};
    args.original_name = req.query_value("filename", s[3]);
    try {
      service.upload_binary(args, true, Reply<BinaryInfo>{[r](BinaryInfo b) { r.done(nlohmann::json(b)); }, r.fail});
    } catch (const Error& e) {
      r.fail(e);
    }
    return true;
  }
  if (s.size() != 3) {
    r.fail(Error(ErrorCode::usage, "unknown sjs API route " + req.path + " (POST /sjs/v1/<op>)"));
    return true;
  }
  nlohmann::json args = req.body.empty() ? nlohmann::json::object() : nlohmann::json::parse(req.body, nullptr, false);
  if (args.is_discarded() || !args.is_object()) {
    r.fail(Error(ErrorCode::protocol, "the body of POST /sjs/v1/" + s[2] + " must be a JSON object of its args"));
    return true;
  }
  if (s[2] == op::k_binary_upload) {
    r.fail(Error(ErrorCode::usage, "upload binaries over HTTP with POST /sjs/v1/upload/<name> (the file as the body)"));
    return true;
  }
  dispatch(service, s[2], args, r);
  return true;
}

HttpResponse http_error(int status, const std::string& message) {
  return HttpResponse{status, "application/json", nlohmann::json{{"status", "ERROR"}, {"result", message}}.dump(), {}};
}

void route_http(Service& service, const HttpRequest& req, const std::shared_ptr<HttpResponder>& responder) {
  if (route_rpc(service, req, responder)) return;
  if (route_sjs(service, req, responder)) return;
  responder->send(http_error(404, "no route for " + req.method + " " + req.path + " (see GET /openapi.json)"));
}

}  // namespace sjs

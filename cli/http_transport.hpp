// The remote CLI's Transport (`sjs --url`): sjs's own HTTP API (docs/http-api.md), with
// HTTP read and written by boost::beast::http over a blocking TcpStream (tcp_stream.hpp).
//   POST <url>/sjs/v1/<op>, the op's args as the JSON body -> the protocol envelope;
//   a streamed op answers with chunked NDJSON, one envelope per line, handed on as it arrives;
//   POST <url>/sjs/v1/upload/<name>?type=<t>&filename=<base name>, the file streamed as the body.
// One keep-alive connection (reopened once if the server closed it while idle),
// Content-Length, chunked and until-close answers, Basic or Bearer credentials.
// https:// loads OpenSSL (libssl.so.3) at run time on first use (sjs/openssl_runtime.hpp),
// so that sjs links no TLS library and local commands do not pay for one; the server's
// certificate is verified against the system CA store (or --cacert) and must name the
// URL's host.
#pragma once

#include <memory>
#include <string>

#include "sjs/transport.hpp"

namespace sjs::cli {

struct HttpTransportOptions {
  std::string url;              // http://[user:password@]host[:port][/prefix] or https://...
  std::string user;             // Basic credentials when set (else the URL's)
  std::string password;
  std::string token;            // Bearer token when set (instead of user/password)
  std::string cacert;           // PEM file of CA certificates to trust besides the system's
  bool insecure = false;        // https: do not verify the server's certificate
  double connect_timeout_s = 15;
  std::string user_agent = "sjs";
};

class HttpTransport : public Transport {
 public:
  // Parses the URL; throws Error(usage) saying what is wrong with it. Connects on first use.
  explicit HttpTransport(HttpTransportOptions options);
  ~HttpTransport() override;
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  HelloResult hello(const std::string& client_name) override;
  nlohmann::json call(const std::string& op, const nlohmann::json& args) override;
  nlohmann::json call_stream(const std::string& op, const nlohmann::json& args,
                             const std::function<void(const nlohmann::json&)>& on_part) override;
  nlohmann::json upload(const std::string& name, const std::string& path, const std::string& type) override;

  // The URL without credentials, for messages.
  const std::string& url() const;

  // Waits until the server closes the open connection (sjsd has exited) or `timeout_s`
  // passes; true if it closed (or none was open).
  bool wait_closed(double timeout_s);

  struct Impl;

 private:
  std::unique_ptr<Impl> m_impl;
};

}  // namespace sjs::cli

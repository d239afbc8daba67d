// A sandbox whose sjsd serves HTTP, driven by curl: shared by the HTTP integration tests.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.hpp"

namespace sjs::test {

// A sandbox whose sjsd serves HTTP on a free loopback port (no Spark home: jars run on jvm).
class HttpSandbox {
 public:
  explicit HttpSandbox(const std::string& extra_conf = "")
      : m_sb(std::string("http.listen = \"127.0.0.1:0\"\n") + k_fast_grace_conf + extra_conf) {
    auto r = run_process({k_sjs, "daemon", "start"}, {{"SJS_HOME", m_sb.home()}, {"SPARK_HOME", ""}});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    m_url = trim(read_all(m_sb.home() + "/sjsd.url"));
    REQUIRE(m_url.rfind("http://127.0.0.1:", 0) == 0);
    m_port = std::stoi(m_url.substr(m_url.rfind(':') + 1));
  }

  const Sandbox& sb() const { return m_sb; }
  const std::string& url() const { return m_url; }
  int port() const { return m_port; }

  // One request with curl. `body` is sent as is (--data-binary); `headers` are curl -H values
  // ("Content-Type:" with nothing after it removes curl's default form Content-Type).
  HttpReply request(const std::string& method, const std::string& target, const std::optional<std::string>& body = {},
                    const std::vector<std::string>& headers = {}) const {
    const std::string n = std::to_string(m_counter++);
    const std::string head_file = m_sb.dir() + "/curl-" + n + ".head";
    const std::string body_file = m_sb.dir() + "/curl-" + n + ".body";
    std::vector<std::string> argv = {"/usr/bin/curl", "-sS", "--path-as-is", "-X", method, "-D", head_file,
                                     "-o", body_file, "-w", "%{http_code}", "--max-time", "120"};
    if (body) {
      const std::string in = m_sb.write_file("curl-" + n + ".in", *body);
      argv.insert(argv.end(), {"--data-binary", "@" + in});
    }
    for (const auto& h : headers) argv.insert(argv.end(), {"-H", h});
    argv.push_back(m_url + target);
    auto r = run_process(argv, {}, "", 130);
    INFO(method << " " << target << ": curl: " << r.err);
    REQUIRE(r.exit_code == 0);
    HttpReply reply;
    reply.status = std::stoi(r.out);
    reply.body = read_all(body_file);
    for (auto& [name, value] : last_header_block(read_all(head_file))) reply.headers[name] = value;
    return reply;
  }
  HttpReply get(const std::string& target) const { return request("GET", target); }
  HttpReply post(const std::string& target, const std::string& body = "", const std::vector<std::string>& headers = {}) const {
    return request("POST", target, body, headers);
  }
  HttpReply del(const std::string& target) const { return request("DELETE", target); }

  // Uploads an exec script (a #!/bin/sh body) as binary `name` over HTTP.
  void upload_script(const std::string& name, const std::string& sh_body) const {
    auto r = post("/binaries/" + name, "#!/bin/sh\n" + sh_body + "\n", {"Content-Type: application/x-sjs-exec"});
    INFO(r.body);
    REQUIRE(r.status == 201);
  }
  void upload_examples(const std::string& name) const {
    REQUIRE(std::filesystem::exists(examples_jar()));
    auto r = post("/binaries/" + name, read_all(examples_jar()), {"Content-Type: application/java-archive"});
    INFO(r.body);
    REQUIRE(r.status == 201);
  }
  // GET /jobs/<id> until its status is `status`.
  bool wait_status(const std::string& id, const std::string& status, double timeout_s = 30) const {
    return eventually([&] { return get("/jobs/" + id).js().value("status", "") == status; }, timeout_s);
  }
  bool healthy() const { return get("/healthz").status == 200; }

 private:
  Sandbox m_sb;
  std::string m_url;
  int m_port = 0;
  mutable int m_counter = 0;
};

}  // namespace sjs::test

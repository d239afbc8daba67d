// sjsd as a library: `run_daemon` is everything main() does, so tests can run
// the daemon in-process and main.cpp stays thin.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "config.hpp"

namespace sjs {

class HttpServer;
class Service;

// Parses sjsd's command line into `config`. Returns -1 to go on, or an exit
// code (after --help, --version or a usage error).
int parse_daemon_args(int argc, char** argv, DaemonConfig& config);

// Runs the daemon until it is stopped; returns the process exit code.
// Unless config.foreground, detaches first (setsid; the parent exits 0 once
// the socket answers, or 1 with the reason on stderr).
int run_daemon(DaemonConfig config);

// The HTTP front end as run_daemon builds it (authentication from the users file, metrics, CORS,
// the routes), not yet started. Also used by the HTTP fuzz target (tests/fuzz).
std::unique_ptr<HttpServer> make_http_server(boost::asio::io_context& io, Service& service, const DaemonConfig& config);

}  // namespace sjs

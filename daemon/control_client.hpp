// sjsd's calls to partition servers (their /control/ routes): one plain HTTP/1.1 request per call,
// with Boost.Beast on the daemon's io_context, bounded by a timeout. ClusterTable takes the call as
// a function, so its tests can run it against real servers or count calls.
#pragma once

#include <functional>
#include <string>

#include <boost/asio/io_context.hpp>

namespace sjs {

struct ControlAnswer {
  int status = 0;      // HTTP status; 0 when no answer came
  std::string body;
  std::string error;   // why no answer came ("" when one did)
};

struct ControlRequest {
  std::string host;
  int port = 0;
  std::string method;  // GET | POST
  std::string target;  // "/control/health"
  double timeout_s = 2;
};

// Starts the request and returns; `done` runs once on `io`, with an answer or why none came.
using ControlCall = std::function<void(const ControlRequest&, std::function<void(ControlAnswer)> done)>;

// The real one, on `io`.
ControlCall http_control_call(boost::asio::io_context& io);

}  // namespace sjs

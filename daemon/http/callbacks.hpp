// Job callbacks (spark-jobserver's `callbackUrl`): when a job submitted with one
// ends, sjsd POSTs a JSON body to that URL, with Boost.Beast's HTTP client on the
// daemon's io_context. A failed attempt (no connection, a timeout, or an HTTP
// status >= 400) is tried again after a growing delay, up to `attempts` times in
// all; the outcome is logged. http:// and https:// (verified against the system's
// CA certificates) are supported.
#pragma once

#include <functional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

namespace sjs {

struct CallbackTarget {
  bool tls = false;
  std::string host;
  std::string port;     // "80" / "443" unless the URL says
  std::string target;   // path and query, "/" at least
};

// Parses "http://host[:port][/path][?query]" (or https://) with sjs::parse_url (sjs/url.hpp),
// refusing credentials; the fragment is dropped. Throws
// Error(bad_request) saying what is wrong with it.
CallbackTarget parse_callback_url(const std::string& url);

struct CallbackOptions {
  int attempts = 5;              // spark-jobserver's: 5 attempts
  double first_delay_s = 0.5;    // then 1, 2, 4 s: backoff doubles each time
  double attempt_timeout_s = 10; // connect + send + answer, per attempt
};

// Starts POSTing `body` to `url` and returns at once. `url` must have passed
// parse_callback_url. Runs on `io`, never throws once started. `finished` (if set) is called
// on `io` once the callback was delivered or given up on (not if the io_context stops first).
void send_callback(boost::asio::io_context& io, const std::string& url, const nlohmann::json& body,
                   CallbackOptions options = {}, std::function<void()> finished = {});

}  // namespace sjs

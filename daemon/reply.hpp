// How the service layer answers a front end: once (Reply) or as a stream of
// parts and a final answer (Stream). Called on the core thread.
#pragma once

#include <functional>

#include <nlohmann/json.hpp>

#include "sjs/errors.hpp"

namespace sjs {

template <typename T>
struct Reply {
  std::function<void(T)> ok;
  std::function<void(const Error&)> fail;
};

struct Stream {
  std::function<void(nlohmann::json)> part;   // a `more` part
  std::function<void(nlohmann::json)> done;   // the final answer
  std::function<void(const Error&)> fail;
  std::function<bool()> open;                 // false once the client has gone
};

}  // namespace sjs

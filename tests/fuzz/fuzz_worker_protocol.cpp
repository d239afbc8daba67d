// The worker protocol, what a worker may send sjsd (docs/worker-protocol.md): the frame decoder
// over the worker's stream, the hello check, and every message's decoding.
// Oracle: bad input throws sjs::Error and nothing else; a decoded message encodes and decodes
// back to the same JSON.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sjs/errors.hpp"
#include "sjs/framing.hpp"
#include "sjs/worker_protocol.hpp"

namespace {

void one_payload(const std::string& payload) {
  try {
    sjs::worker::check_hello_frame(payload);
  } catch (const sjs::Error&) {
  }
  sjs::worker::FromWorker msg;
  try {
    msg = sjs::worker::decode_frame(payload);
  } catch (const sjs::Error&) {
    return;
  }
  const nlohmann::json once = sjs::worker::encode(msg);
  const nlohmann::json twice = sjs::worker::encode(sjs::worker::decode(once));
  if (once != twice) {
    std::fprintf(stderr, "worker message round trip differs:\n%s\n%s\n", once.dump().c_str(), twice.dump().c_str());
    std::abort();
  }
  (void)once.dump();  // what sjsd would log or store must be writable
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (!input.empty() && input.front() == '{') {  // one payload, no framing (reaches decoding fast)
    one_payload(std::string(input));
    return 0;
  }
  sjs::FrameDecoder decoder(1 << 20);
  try {
    // Fed in two pieces, as a stream arrives.
    const std::size_t cut = size ? data[0] % (size + 1) : 0;
    decoder.feed(input.substr(0, cut));
    std::string payload;
    while (decoder.next(payload)) one_payload(payload);
    decoder.feed(input.substr(cut));
    while (decoder.next(payload)) one_payload(payload);
  } catch (const sjs::Error&) {
  }
  return 0;
}

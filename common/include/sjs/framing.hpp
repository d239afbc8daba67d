// Client protocol framing: every message is a 4-byte big-endian payload length
// followed by that many bytes of UTF-8 JSON. See docs/protocol.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sjs {

constexpr std::size_t k_frame_header_size = 4;
constexpr std::size_t k_default_max_frame = 64u * 1024 * 1024;

// Header plus payload, ready to write.
std::string encode_frame(std::string_view payload);

// Incremental decoder. Feed it whatever bytes arrived; take complete frames out.
// An oversized length throws Error(too_large) before any payload is buffered,
// so a hostile peer cannot make it allocate.
class FrameDecoder {
 public:
  explicit FrameDecoder(std::size_t max_frame = k_default_max_frame) : m_max_frame(max_frame) {}

  void feed(const char* data, std::size_t size);
  void feed(std::string_view bytes) { feed(bytes.data(), bytes.size()); }
  // Moves the next complete payload into `out`; false when none is complete yet.
  bool next(std::string& out);
  // Bytes of an incomplete frame held back (a truncated stream if the peer closed now).
  std::size_t pending() const { return m_buffer.size() - m_offset; }

 private:
  std::size_t m_max_frame;
  std::string m_buffer;
  std::size_t m_offset = 0;
};

}  // namespace sjs

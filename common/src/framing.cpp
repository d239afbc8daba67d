#include "sjs/framing.hpp"

#include "sjs/errors.hpp"

namespace sjs {
namespace {

std::size_t read_length(const std::string& buffer, std::size_t offset) {
  const auto* p = reinterpret_cast<const unsigned char*>(buffer.data() + offset);
  return (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) | (std::size_t{p[2]} << 8) | p[3];
}

void check_length(std::size_t n, std::size_t max_frame) {
  if (n > max_frame) {
    throw Error(ErrorCode::too_large, "frame of " + std::to_string(n) + " bytes exceeds the limit of " +
                                          std::to_string(max_frame) + " bytes");
  }
}

}  // namespace

std::string encode_frame(std::string_view payload) {
  if (payload.size() > UINT32_MAX) throw Error(ErrorCode::too_large, "message larger than 4 GiB");
  const auto n = static_cast<std::uint32_t>(payload.size());
  std::string out;
  out.reserve(k_frame_header_size + payload.size());
  out.push_back(static_cast<char>((n >> 24) & 0xff));
  out.push_back(static_cast<char>((n >> 16) & 0xff));
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  out.push_back(static_cast<char>(n & 0xff));
  out.append(payload);
  return out;
}

void FrameDecoder::feed(const char* data, std::size_t size) {
  if (m_offset > 0 && m_offset == m_buffer.size()) {
    m_buffer.clear();
    m_offset = 0;
  }
  m_buffer.append(data, size);
  // Reject an oversized frame as soon as its header is visible.
  if (pending() >= k_frame_header_size) check_length(read_length(m_buffer, m_offset), m_max_frame);
}

bool FrameDecoder::next(std::string& out) {
  if (pending() < k_frame_header_size) return false;
  const std::size_t n = read_length(m_buffer, m_offset);
  check_length(n, m_max_frame);
  if (pending() < k_frame_header_size + n) return false;
  out.assign(m_buffer, m_offset + k_frame_header_size, n);
  m_offset += k_frame_header_size + n;
  if (m_offset == m_buffer.size()) {
    m_buffer.clear();
    m_offset = 0;
  } else if (m_offset > (1u << 20) && m_offset * 2 > m_buffer.size()) {
    m_buffer.erase(0, m_offset);
    m_offset = 0;
  }
  return true;
}

}  // namespace sjs

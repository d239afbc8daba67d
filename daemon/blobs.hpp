// Content-addressed storage for uploaded binaries: <data>/blobs/<sha256>.
// ingest() is blocking (copy + hash + fsync) and runs off the core thread; the
// rest is cheap.
#pragma once

#include <cstdint>
#include <string>

namespace sjs {

struct Ingested {
  std::string sha256;
  std::uint64_t size = 0;
  std::string type;  // a binary type of the runtime table (sjs/runtimes.hpp)
};

class BlobStore {
 public:
  explicit BlobStore(std::string dir);

  // Copies `source` in while hashing it, checks or detects its type (from its
  // content and `original_name`), and stores it under its hash. Throws Error
  // (bad_request) for an unreadable file or a wrong type, naming the fix.
  Ingested ingest(const std::string& source, const std::string& original_name, const std::string& requested_type,
                  bool move_source = false) const;
  std::string path_for(const std::string& sha256) const;
  const std::string& dir() const { return m_dir; }
  void remove(const std::string& sha256) const;

 private:
  std::string m_dir;
};

// What a file is, from its first bytes and name, by the runtime table's detection rules: a
// binary type, or "" when it cannot tell. Exposed for tests.
std::string detect_binary_type(const std::string& head, const std::string& name);
// Throws Error(bad_request) if the content cannot be of `type` (or the table has no such type).
void check_binary_type(const std::string& head, const std::string& name, const std::string& type);
bool is_binary_type(const std::string& type);

}  // namespace sjs

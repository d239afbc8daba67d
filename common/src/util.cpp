#include "sjs/util.hpp"

#include <sys/statvfs.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <mutex>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

#include "sjs/errors.hpp"

namespace sjs {

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

namespace {

std::mt19937_64& uuid_rng() {
  static thread_local std::mt19937_64 rng = [] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), static_cast<unsigned>(::getpid())};
    return std::mt19937_64(seq);
  }();
  return rng;
}

std::string format_uuid(std::uint64_t a, std::uint64_t b) {
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
                static_cast<unsigned>(b >> 48), static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

constexpr std::uint64_t k_variant_mask = 0x3fffffffffffffffULL, k_variant_1 = 0x8000000000000000ULL;

}  // namespace

std::string make_uuid() {
  std::uint64_t a = uuid_rng()(), b = uuid_rng()();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  return format_uuid(a, (b & k_variant_mask) | k_variant_1);
}

std::string make_time_uuid() {
  static std::mutex mutex;
  static std::uint64_t last_ms = 0, counter = 0;
  std::uint64_t ms = static_cast<std::uint64_t>(now_ms());
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (ms <= last_ms) {  // the same millisecond (or the clock went back): count on from the last id
      ms = last_ms;
      if (++counter > 0xfff) {  // 4,096 ids in one ms: borrow the next ms
        ++ms;
        counter = 0;
      }
    } else {
      counter = 0;
    }
    last_ms = ms;
  }
  const std::uint64_t a = ((ms & 0xffffffffffffULL) << 16) | 0x7000ULL | counter;  // version 7
  return format_uuid(a, (uuid_rng()() & k_variant_mask) | k_variant_1);
}

namespace {
std::string format_time(std::int64_t ms, bool utc) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  if (utc) ::gmtime_r(&secs, &tm); else ::localtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[96];
  if (utc) {
    std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  } else {
    long off = tm.tm_gmtoff;
    char sign = off < 0 ? '-' : '+';
    if (off < 0) off = -off;
    std::snprintf(out, sizeof out, "%s.%03d%c%02ld:%02ld", buf, static_cast<int>(ms % 1000), sign, off / 3600,
                  (off % 3600) / 60);
  }
  return out;
}
}  // namespace

std::string format_utc(std::int64_t ms) { return format_time(ms, true); }
std::string format_local(std::int64_t ms) { return format_time(ms, false); }

std::string format_duration(std::int64_t ms) {
  char buf[64];
  if (ms < 60'000) {
    std::snprintf(buf, sizeof buf, "%.3f s", static_cast<double>(ms) / 1000.0);
  } else if (ms < 3'600'000) {
    std::snprintf(buf, sizeof buf, "%lld min %lld s", static_cast<long long>(ms / 60'000),
                  static_cast<long long>((ms % 60'000) / 1000));
  } else {
    std::snprintf(buf, sizeof buf, "%lld h %lld min", static_cast<long long>(ms / 3'600'000),
                  static_cast<long long>((ms % 3'600'000) / 60'000));
  }
  return buf;
}

std::string read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorCode::bad_request, "cannot read " + path + ": " + std::strerror(errno));
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      throw Error(ErrorCode::bad_request, "cannot read " + path + ": " + std::strerror(e));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

bool is_disk_full(int err) { return err == ENOSPC || err == EDQUOT; }

Error write_error(const std::string& path, int err) {
  if (is_disk_full(err)) {
    return Error(ErrorCode::storage_full, "storage full: cannot write " + path + ": " + std::strerror(err) +
                                              ": free space on that disk (sjsd goes on by itself once there is)",
                 {{"path", path}});
  }
  return Error(ErrorCode::internal, "cannot write " + path + ": " + std::strerror(err));
}

void check_disk_room(const std::string& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return;  // cannot tell: the write itself will say
  const std::uint64_t free_bytes = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
  if (free_bytes >= k_disk_reserve_bytes) return;
  throw Error(ErrorCode::storage_full, "storage full: the disk holding " + dir + " has " +
                                           std::to_string(free_bytes >> 10) + " KiB free (sjsd keeps " +
                                           std::to_string(k_disk_reserve_bytes >> 20) +
                                           " MiB for running jobs): free space there, then try again (no restart "
                                           "needed)",
               {{"path", dir}});
}

void write_file_atomic(const std::string& path, std::string_view data, unsigned mode) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw write_error(tmp, errno);
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw write_error(tmp, e);
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    throw write_error(path, e);
  }
}

void check_name(std::string_view what, std::string_view name) {
  auto fail = [&](const std::string& why) {
    throw Error(ErrorCode::bad_request, std::string(what) + " name \"" + std::string(name.substr(0, 200)) +
                                            "\" is invalid: " + why);
  };
  if (name.empty()) fail("it is empty");
  if (name.size() > 128) fail("it is longer than 128 characters");
  if (name == "." || name == "..") fail("it may not be \".\" or \"..\"");
  for (unsigned char c : name) {
    if (c == '/') fail("it may not contain '/'");
    if (c == 0) fail("it may not contain a NUL byte");
    if (!(std::isalnum(c) || c == '.' || c == '_' || c == '-')) {
      fail("use only letters, digits, '.', '_' and '-'");
    }
  }
  if (!std::isalnum(static_cast<unsigned char>(name[0]))) fail("it must start with a letter or digit");
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }
bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string ascii_lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string ascii_upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::size_t json_nesting(std::string_view text, std::size_t stop_after) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest && (deepest = depth) >= stop_after) return deepest;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

void check_json_nesting(std::string_view text, const std::string& what) {
  if (json_nesting(text) > k_max_json_depth) {
    throw Error(ErrorCode::bad_request, what + " nests arrays or objects more than " + std::to_string(k_max_json_depth) +
                                            " levels deep: flatten it");
  }
}

std::string percent_decode(std::string_view s, bool plus_is_space) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace sjs

#include "data_files.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

#include "sjs/errors.hpp"
#include "sjs/paths.hpp"
#include "sjs/util.hpp"

namespace sjs {

namespace fs = std::filesystem;

namespace {

constexpr const char* k_extension = ".dat";

// A name we could have given a file: <something>.dat, no '/', no NUL, not hidden.
bool is_data_file_name(const std::string& name) {
  return !name.empty() && name[0] != '.' && ends_with(name, k_extension) && name.size() > 4 &&
         name.find('/') == std::string::npos && name.find('\0') == std::string::npos;
}

void write_all(int fd, const char* data, std::size_t size, const std::string& path) {
  std::size_t off = 0;
  while (off < size) {
    ssize_t n = ::write(fd, data + off, size - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw write_error(path, errno);
    off += static_cast<std::size_t>(n);
  }
}

}  // namespace

DataFiles::DataFiles(std::string dir) : m_dir(std::move(dir)) {
  while (m_dir.size() > 1 && m_dir.back() == '/') m_dir.pop_back();
}

std::string DataFiles::reserve(const std::string& prefix) {
  check_name("data file prefix", prefix);
  make_dirs(m_dir, 0700);
  check_disk_room(m_dir);
  // spark-jobserver's form: <prefix>-<upload time>.dat, the time with ':' made '_'.
  std::string stamp = format_local(now_ms());
  std::replace(stamp.begin(), stamp.end(), ':', '_');
  for (int n = 0; n < 10000; ++n) {
    const std::string path =
        m_dir + "/" + prefix + "-" + stamp + (n ? "-" + std::to_string(n) : std::string()) + k_extension;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::close(fd);
      return path;
    }
    if (errno != EEXIST) throw write_error(path, errno);
  }
  throw Error(ErrorCode::internal, "cannot find a free name for data file prefix " + prefix);
}

std::string DataFiles::store_file(const std::string& prefix, const std::string& source) {
  const std::string target = reserve(prefix);
  if (::rename(source.c_str(), target.c_str()) == 0) return target;
  if (errno != EXDEV) {
    const std::string why = std::strerror(errno);
    ::unlink(target.c_str());
    throw Error(ErrorCode::internal, "cannot store data file " + target + ": " + why);
  }
  // Another file system: copy, then drop the source.
  try {
    std::error_code ec;
    fs::copy_file(source, target, fs::copy_options::overwrite_existing, ec);
    if (ec) throw write_error(target, ec.value());
    ::chmod(target.c_str(), 0600);
  } catch (...) {
    ::unlink(target.c_str());
    throw;
  }
  ::unlink(source.c_str());
  return target;
}

std::string DataFiles::store_bytes(const std::string& prefix, std::string_view data) {
  const std::string target = reserve(prefix);
  int fd = ::open(target.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    ::unlink(target.c_str());
    throw write_error(target, e);
  }
  try {
    write_all(fd, data.data(), data.size(), target);
  } catch (...) {
    ::close(fd);
    ::unlink(target.c_str());
    throw;
  }
  ::close(fd);
  return target;
}

std::vector<std::string> DataFiles::list() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(m_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code sec;
    if (!is_data_file_name(name) || !it->is_regular_file(sec) || it->is_symlink(sec)) continue;
    out.push_back(m_dir + "/" + name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string DataFiles::own_path(const std::string& path) const {
  std::string name;
  if (path.find('/') == std::string::npos) {
    name = path;
  } else {
    if (path.empty() || path[0] != '/') return "";
    const fs::path p = fs::path(path).lexically_normal();
    if (p.parent_path().string() != m_dir) return "";
    name = p.filename().string();
  }
  if (!is_data_file_name(name)) return "";
  const std::string full = m_dir + "/" + name;
  struct stat st {};
  if (::lstat(full.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return "";
  return full;
}

bool DataFiles::remove(const std::string& path) {
  const std::string full = own_path(path);
  return !full.empty() && ::unlink(full.c_str()) == 0;
}

std::size_t DataFiles::remove_all() {
  std::size_t n = 0;
  for (const auto& path : list()) {
    if (::unlink(path.c_str()) == 0) ++n;
  }
  return n;
}

}  // namespace sjs

// Data files: files clients upload for their jobs to read (spark-jobserver's
// /data routes). They live in <data dir>/files/ as <prefix>-<timestamp>.dat and
// are named to clients by their absolute paths. Only files in that directory can
// be listed or deleted: a path anywhere else is not ours.
//
// Threads: used on the core thread. Storing renames the uploaded file into place
// (same file system as the upload dir); a copy is only needed across file systems.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sjs {

class DataFiles {
 public:
  explicit DataFiles(std::string dir);

  const std::string& dir() const { return m_dir; }

  // Stores the file at `source` (moved in when possible, else copied and removed)
  // as <dir>/<prefix>-<timestamp>.dat, and returns that absolute path. The prefix
  // follows the rules of names (check_name): Error(bad_request) if it does not.
  std::string store_file(const std::string& prefix, const std::string& source);
  // The same, from bytes held in memory.
  std::string store_bytes(const std::string& prefix, std::string_view data);

  // Absolute paths of the stored files, sorted.
  std::vector<std::string> list() const;

  // Deletes a stored file, named by its absolute path or by its file name.
  // False if it is not one of ours (or is gone already).
  bool remove(const std::string& path);
  // Deletes every stored file; returns how many.
  std::size_t remove_all();

 private:
  // Creates a fresh, empty <prefix>-<timestamp>[-N].dat (O_EXCL) and returns its path.
  std::string reserve(const std::string& prefix);
  // The stored file `path` names, as an absolute path in m_dir; "" if it names none.
  std::string own_path(const std::string& path) const;

  std::string m_dir;
};

}  // namespace sjs

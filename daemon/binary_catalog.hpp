// The binary catalog owns binaries: their versions (handed out in order, even
// for uploads that commit out of order), the cache of each name's newest
// version that every submission reads, and the refusal to delete a version a
// live job needs. Blobs are stored by content (BlobStore); metadata in LMDB.
//
// Threads: the core thread, except ingesting an upload (copy, hash, fsync),
// which runs on the blocking pool and posts its result back.
#pragma once

#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "blobs.hpp"
#include "reply.hpp"
#include "sjs/messages.hpp"
#include "store/store.hpp"

namespace sjs {

class BinaryCatalog {
 public:
  // Which live jobs use a binary (name, and version or 0 for any): their ids. Set by the job table.
  using UsersOf = std::function<std::vector<std::string>(const std::string& name, int version)>;

  // Checks an upload's content beyond its type (a .py must compile): runs on the blocking pool with
  // the stored blob's path and the name to report; throws Error to refuse it (nothing is stored).
  using ContentCheck = std::function<void(const std::string& type, const std::string& path, const std::string& shown_as)>;
  // A step library's steps, from its blob (on the blocking pool); throws Error.
  using StepLister = std::function<nlohmann::json(const BinaryInfo& binary, const std::string& path)>;

  BinaryCatalog(boost::asio::io_context& io, boost::asio::thread_pool& pool, store::Store& store, BlobStore& blobs);
  void set_users_of(UsersOf users_of) { m_users_of = std::move(users_of); }
  void set_content_check(ContentCheck check) { m_content_check = std::move(check); }
  void set_step_lister(StepLister lister) { m_step_lister = std::move(lister); }
  void begin_shutdown() { m_shutting_down = true; }

  void upload(const BinaryUploadArgs& args, bool move_source, Reply<BinaryInfo> reply);
  BinaryListResult list() const;
  // Every version, oldest first; throws not_found.
  BinaryShowResult show(const std::string& name) const;
  // The newest version (what a submission runs); throws not_found saying how to upload it.
  BinaryInfo latest(const std::string& name) const;
  // A stored version's blob hash, or "" if that version is gone.
  std::string sha256_of(const std::string& name, int version) const;
  void remove(const BinaryDeleteArgs& args, Reply<nlohmann::json> reply);
  // The steps of a step library's version (0: the newest): {binary, version, type, steps}.
  void steps(const BinaryStepsArgs& args, Reply<nlohmann::json> reply);
  std::string path_for(const std::string& sha256) const { return m_blobs.path_for(sha256); }

 private:
  boost::asio::io_context& m_io;
  boost::asio::thread_pool& m_pool;
  store::Store& m_store;
  BlobStore& m_blobs;
  UsersOf m_users_of;
  ContentCheck m_content_check;
  StepLister m_step_lister;
  bool m_shutting_down = false;
  std::unordered_map<std::string, int> m_reserved_versions;        // name -> last version handed out
  mutable std::unordered_map<std::string, BinaryInfo> m_latest;    // cache of committed newest versions
};

}  // namespace sjs

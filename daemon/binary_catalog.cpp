#include "binary_catalog.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "sjs/errors.hpp"
#include "sjs/util.hpp"

namespace sjs {

namespace asio = boost::asio;

BinaryCatalog::BinaryCatalog(asio::io_context& io, asio::thread_pool& pool, store::Store& store, BlobStore& blobs)
    : m_io(io), m_pool(pool), m_store(store), m_blobs(blobs) {}

void BinaryCatalog::upload(const BinaryUploadArgs& args, bool move_source, Reply<BinaryInfo> reply) {
  check_name("binary", args.name);
  if (args.path.empty() || args.path[0] != '/') {
    throw Error(ErrorCode::usage, "binary.upload needs an absolute path, not \"" + args.path + "\"");
  }
  if (m_shutting_down) throw Error(ErrorCode::unavailable, "sjsd is shutting down");
  check_disk_room(m_blobs.dir());
  std::string original =
      args.original_name.empty() ? args.path.substr(args.path.find_last_of('/') + 1) : args.original_name;
  asio::post(m_pool, [this, args, original, move_source, reply]() {
    try {
      Ingested in = m_blobs.ingest(args.path, original, args.type, move_source);
      if (m_content_check) {
        try {
          m_content_check(in.type, m_blobs.path_for(in.sha256), original);
        } catch (const Error& e) {
          // Refused: the blob goes unless another binary version holds the same bytes.
          asio::post(m_io, [this, sha = in.sha256, reply, e]() {
            if (!m_store.blob_referenced(sha)) m_blobs.remove(sha);
            reply.fail(e);
          });
          return;
        }
      }
      asio::post(m_io, [this, args, in, reply]() {
        auto versions = m_store.binary_versions(args.name);
        int latest = versions.empty() ? 0 : versions.back().version;
        int& reserved = m_reserved_versions[args.name];
        BinaryInfo b;
        b.name = args.name;
        b.version = std::max(latest, reserved) + 1;
        reserved = b.version;
        b.type = in.type;
        b.size = in.size;
        b.sha256 = in.sha256;
        b.uploaded_ms = now_ms();
        b.versions = b.version;
        m_store.put_binary(b, [this, b, reply](const store::WriteError& error) {
          if (!error.empty()) {
            if (!m_store.blob_referenced(b.sha256)) m_blobs.remove(b.sha256);
            reply.fail(error.to_error("could not record binary " + b.name));
            return;
          }
          spdlog::info("binary {} version {} stored ({} bytes, {})", b.name, b.version, b.size, b.type);
          m_latest.erase(b.name);  // the next submission reads the new newest version
          reply.ok(b);
        });
      });
    } catch (const Error& e) {
      asio::post(m_io, [reply, e]() { reply.fail(e); });
    } catch (const std::exception& e) {
      asio::post(m_io, [reply, msg = std::string(e.what())]() { reply.fail(Error(ErrorCode::internal, msg)); });
    }
  });
}

BinaryListResult BinaryCatalog::list() const { return BinaryListResult{m_store.list_binaries()}; }

BinaryShowResult BinaryCatalog::show(const std::string& name) const {
  auto versions = m_store.binary_versions(name);
  if (versions.empty()) {
    throw Error(ErrorCode::not_found, "binary \"" + name + "\" not found (see: sjs binary list)", {{"binary", name}});
  }
  return BinaryShowResult{name, versions};
}

BinaryInfo BinaryCatalog::latest(const std::string& name) const {
  // Every submission asks this: answer from memory once the store has been read.
  if (auto it = m_latest.find(name); it != m_latest.end()) return it->second;
  auto versions = m_store.binary_versions(name);
  if (versions.empty()) {
    throw Error(ErrorCode::not_found,
                "binary \"" + name + "\" not found: upload it first (sjs binary upload " + name + " FILE)",
                {{"binary", name}});
  }
  m_latest[name] = versions.back();
  return versions.back();
}

std::string BinaryCatalog::sha256_of(const std::string& name, int version) const {
  for (const auto& b : m_store.binary_versions(name)) {
    if (b.version == version) return b.sha256;
  }
  return "";
}

void BinaryCatalog::steps(const BinaryStepsArgs& args, Reply<nlohmann::json> reply) {
  BinaryInfo b;
  if (args.version == 0) {
    b = latest(args.name);
  } else {
    bool found = false;
    for (const auto& v : show(args.name).versions) {
      if (v.version == args.version) {
        b = v;
        found = true;
      }
    }
    if (!found) {
      throw Error(ErrorCode::not_found, "binary \"" + args.name + "\" has no version " + std::to_string(args.version),
                  {{"binary", args.name}});
    }
  }
  if (!m_step_lister) throw Error(ErrorCode::bad_request, "this sjsd lists no steps");
  asio::post(m_pool, [this, b, path = m_blobs.path_for(b.sha256), reply]() {
    try {
      nlohmann::json steps = m_step_lister(b, path);
      asio::post(m_io, [b, steps, reply]() {
        reply.ok({{"binary", b.name}, {"version", b.version}, {"type", b.type}, {"steps", steps}});
      });
    } catch (const Error& e) {
      asio::post(m_io, [reply, e]() { reply.fail(e); });
    } catch (const std::exception& e) {
      asio::post(m_io, [reply, msg = std::string(e.what())]() { reply.fail(Error(ErrorCode::internal, msg)); });
    }
  });
}

void BinaryCatalog::remove(const BinaryDeleteArgs& args, Reply<nlohmann::json> reply) {
  auto versions = show(args.name).versions;
  std::vector<BinaryInfo> doomed;
  for (const auto& b : versions) {
    if (args.version == 0 || b.version == args.version) doomed.push_back(b);
  }
  if (doomed.empty()) {
    throw Error(ErrorCode::not_found, "binary \"" + args.name + "\" has no version " + std::to_string(args.version),
                {{"binary", args.name}});
  }
  const std::vector<std::string> users = m_users_of ? m_users_of(args.name, args.version) : std::vector<std::string>{};
  if (!users.empty()) {
    std::string list;
    for (const auto& u : users) list += (list.empty() ? "" : ", ") + u;
    throw Error(ErrorCode::in_use,
                "binary \"" + args.name + "\" is in use by job(s): " + list + " (wait for them or kill them, then delete)",
                {{"binary", args.name}, {"jobs", users}});
  }
  m_latest.erase(args.name);
  m_store.delete_binary(args.name, args.version, [this, doomed, reply](const std::string& error) {
    m_latest.erase(doomed.front().name);
    if (!error.empty()) return reply.fail(Error(ErrorCode::internal, error));
    for (const auto& b : doomed) {
      if (!m_store.blob_referenced(b.sha256)) m_blobs.remove(b.sha256);
    }
    reply.ok(nlohmann::json{{"deleted", doomed.size()}});
  });
}

}  // namespace sjs

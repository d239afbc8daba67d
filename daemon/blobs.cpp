#include "blobs.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <elf.h>
#include <fcntl.h>
#include <filesystem>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "sjs/errors.hpp"
#include "sjs/paths.hpp"
#include "sjs/runtimes.hpp"
#include "sjs/util.hpp"

namespace sjs {
namespace {

constexpr std::size_t k_head_size = 4096;

bool is_zip(const std::string& head) { return head.size() >= 4 && head.compare(0, 4, "PK\x03\x04", 4) == 0; }
bool is_elf(const std::string& head) { return head.size() >= 64 && head.compare(0, 4, "\x7f" "ELF", 4) == 0; }
bool is_script(const std::string& head) { return head.size() >= 2 && head[0] == '#' && head[1] == '!'; }

// ELF64 little-endian: e_type, and whether a PT_INTERP header is present
// within the first bytes (PIE executables have one; shared objects do not).
struct ElfKind {
  bool executable = false;
  bool shared_object = false;
};

ElfKind elf_kind(const std::string& head) {
  ElfKind k;
  if (!is_elf(head) || head[EI_CLASS] != ELFCLASS64) {
    k.executable = is_elf(head);  // 32-bit or odd ELF: let the kernel decide
    return k;
  }
  Elf64_Ehdr eh;
  std::memcpy(&eh, head.data(), sizeof eh);
  bool interp = false;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    std::size_t off = eh.e_phoff + std::size_t{i} * eh.e_phentsize;
    if (off + sizeof(Elf64_Phdr) > head.size()) break;
    Elf64_Phdr ph;
    std::memcpy(&ph, head.data() + off, sizeof ph);
    if (ph.p_type == PT_INTERP) interp = true;
  }
  if (eh.e_type == ET_EXEC) k.executable = true;
  if (eh.e_type == ET_DYN) {
    k.executable = interp;
    k.shared_object = !interp;
  }
  return k;
}

std::string lower_name(const std::string& name) {
  std::string s = name;
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// What the head of a file is, for the runtime table's detection rules.
Content content_of(const std::string& head) {
  if (is_zip(head)) return Content::zip;
  if (is_elf(head)) return elf_kind(head).shared_object ? Content::elf_shared_object : Content::elf_executable;
  if (is_script(head)) return Content::script;
  return head.find('\0') == std::string::npos ? Content::text : Content::other;
}

}  // namespace

bool is_binary_type(const std::string& type) { return find_binary_type(type) != nullptr; }

// The runtime table's detection rules: a rule naming suffixes beats one that names none.
std::string detect_binary_type(const std::string& head, const std::string& name) {
  const std::string n = lower_name(name);
  const Content content = content_of(head);
  for (bool with_suffixes : {true, false}) {
    for (const auto& type : binary_type_table()) {
      for (const auto& rule : type.detect) {
        if (rule.content != content || rule.suffixes.empty() == with_suffixes) continue;
        if (rule.suffixes.empty()) return type.name;
        for (const auto& suffix : rule.suffixes) {
          if (ends_with(n, suffix)) return type.name;
        }
      }
    }
  }
  return "";
}

void check_binary_type(const std::string& head, const std::string& name, const std::string& type) {
  const BinaryTypeSpec* spec = find_binary_type(type);
  if (!spec) {
    throw Error(ErrorCode::bad_request, "unknown binary type \"" + type + "\": use " + list_words(binary_type_names()));
  }
  const Content content = content_of(head);
  if (std::find(spec->accepts.begin(), spec->accepts.end(), content) != spec->accepts.end()) return;
  std::string why = spec->must_be;
  const std::string looks = detect_binary_type(head, name);
  if (const BinaryTypeSpec* other = find_binary_type(looks); other && looks != type) {
    why += " (it is " + other->summary + ": use --type " + looks + ")";
  }
  throw Error(ErrorCode::bad_request, "\"" + name + "\" cannot be uploaded as " + type + ": " + why);
}

// Built once sjsd holds the data dir's lock: a `.upload-*` there is a copy cut short by a daemon that
// died (found by tests/torture), never one in progress. Removed, or they would stay forever.
BlobStore::BlobStore(std::string dir) : m_dir(std::move(dir)) {
  make_dirs(m_dir, 0700);
  std::error_code ec;
  for (std::filesystem::directory_iterator it(m_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(".upload-", 0) == 0) ::unlink(it->path().c_str());
  }
}

std::string BlobStore::path_for(const std::string& sha256) const { return m_dir + "/" + sha256; }

void BlobStore::remove(const std::string& sha256) const { ::unlink(path_for(sha256).c_str()); }

Ingested BlobStore::ingest(const std::string& source, const std::string& original_name,
                           const std::string& requested_type, bool move_source) const {
  int in = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) throw Error(ErrorCode::bad_request, "cannot read " + source + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(in);
    throw Error(ErrorCode::bad_request, source + " is not a regular file");
  }
  const std::string tmp = m_dir + "/.upload-" + make_uuid();
  int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
  if (out < 0) {
    int e = errno;
    ::close(in);
    throw write_error(tmp, e);
  }
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(md, EVP_sha256(), nullptr);
  std::string head;
  Ingested r;
  std::string failure;
  int write_errno = 0;  // the upload's copy could not be written (a full disk is storage_full)
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      failure = "cannot read " + source + ": " + std::strerror(errno);
      break;
    }
    if (n == 0) break;
    if (head.size() < k_head_size) head.append(buf.data(), std::min<std::size_t>(n, k_head_size - head.size()));
    EVP_DigestUpdate(md, buf.data(), static_cast<std::size_t>(n));
    r.size += static_cast<std::uint64_t>(n);
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(out, buf.data() + off, static_cast<std::size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        write_errno = errno;
        failure = "cannot store the upload";
        break;
      }
      off += w;
    }
    if (!failure.empty()) break;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(md, digest, &len);
  EVP_MD_CTX_free(md);
  ::close(in);
  if (failure.empty() && ::fsync(out) != 0) {
    write_errno = errno;
    failure = "cannot store the upload";
  }
  ::close(out);
  try {
    if (write_errno != 0) throw write_error(tmp, write_errno);
    if (!failure.empty()) throw Error(ErrorCode::internal, failure);
    if (r.size == 0) throw Error(ErrorCode::bad_request, source + " is empty");
    if (requested_type.empty()) {
      r.type = detect_binary_type(head, original_name);
      if (r.type.empty()) {
        throw Error(ErrorCode::bad_request, "cannot tell what kind of binary " + original_name +
                                                " is: give --type " + list_words(binary_type_names(), "or"));
      }
    } else {
      r.type = requested_type;  // check_binary_type refuses a type the runtime table does not have
    }
    check_binary_type(head, original_name, r.type);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  static const char* k_hex = "0123456789abcdef";
  for (unsigned i = 0; i < len; ++i) {
    r.sha256.push_back(k_hex[digest[i] >> 4]);
    r.sha256.push_back(k_hex[digest[i] & 15]);
  }
  if (::rename(tmp.c_str(), path_for(r.sha256).c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    throw write_error(path_for(r.sha256), e);
  }
  int dir = ::open(m_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  if (move_source) ::unlink(source.c_str());
  return r;
}

}  // namespace sjs

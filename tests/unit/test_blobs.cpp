#include <catch2/catch.hpp>

#include <stdio.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "blobs.hpp"
#include "sjs/errors.hpp"
#include "unit_helpers.hpp"

using sjs::BlobStore;
using sjs::check_binary_type;
using sjs::detect_binary_type;
using sjs::Error;
using sjs::ErrorCode;
using sjs::test::error_from;
using sjs::test::TempDir;
namespace fs = std::filesystem;

namespace {

constexpr const char* k_sha256_abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

std::string read_bytes(const std::string& path, std::size_t max = std::string::npos) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.size() > max) data.resize(max);
  return data;
}

// What ingest() sees of a file: its first 4 KiB.
std::string head_of(const std::string& path) {
  return read_bytes(path, 4096);
}

std::string write_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  out.close();
  REQUIRE(out.good());
  return path;
}

// sha256sum's answer for a file: the reference the store's hashing must agree with.
std::string sha256sum(const std::string& path) {
  std::string cmd = "sha256sum '" + path + "'";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[256] = {};
  std::string out;
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  REQUIRE(::pclose(p) == 0);
  return out.substr(0, out.find(' '));
}

// Names of the files in `dir`, excluding nothing (temp files included).
std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// A real ELF shared object (ET_DYN without an interpreter); "" if none is found.
std::string find_shared_object() {
  for (const char* dir : {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
                          "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/usr/lib", "/lib"}) {
    // libc.so.6 is left out on purpose: it has an interpreter and runs as a program.
    for (const char* name : {"liblmdb.so.0", "libm.so.6", "libz.so.1", "libcrypto.so.3"}) {
      std::string path = std::string(dir) + "/" + name;
      std::error_code ec;
      if (fs::is_regular_file(path, ec)) return path;
    }
  }
  return "";
}

const std::string k_zip_head = std::string("PK\x03\x04\x14\x00\x00\x00\x08\x00", 10) + std::string(40, '\0');

}  // namespace

// ---------------------------------------------------------------- detection

// Wheels and eggs were type py until Python jobs ran: their own types now (spark-jobserver's "Egg").
TEST_CASE("blobs: a zip is a jar, unless named .whl (a wheel) or .egg or .zip (an egg)", "[blobs]") {
  CHECK(detect_binary_type(k_zip_head, "job.jar") == "jar");
  CHECK(detect_binary_type(k_zip_head, "anything") == "jar");
  CHECK(detect_binary_type(k_zip_head, "pkg-1.0-py3-none-any.whl") == "wheel");
  CHECK(detect_binary_type(k_zip_head, "PKG.WHL") == "wheel");
  CHECK(detect_binary_type(k_zip_head, "pkg.egg") == "egg");
  CHECK(detect_binary_type(k_zip_head, "packages.zip") == "egg");
  CHECK(detect_binary_type("print(1)\n", "pkg.whl") == "");  // text is no wheel
}

TEST_CASE("blobs: an ELF executable is exec", "[blobs]") {
  REQUIRE(fs::is_regular_file("/bin/true"));
  const std::string head = head_of("/bin/true");
  CHECK(detect_binary_type(head, "true") == "exec");
  CHECK(detect_binary_type(head, "true.so") == "exec");  // content wins over the name
  CHECK_NOTHROW(check_binary_type(head, "true", "exec"));
}

TEST_CASE("blobs: an ELF shared object is so", "[blobs]") {
  const std::string so = find_shared_object();
  if (so.empty()) {
    WARN("no shared object found on this system; skipped");
    return;
  }
  INFO("shared object: " << so);
  const std::string head = head_of(so);
  CHECK(detect_binary_type(head, fs::path(so).filename().string()) == "so");
  CHECK(detect_binary_type(head, "job") == "so");
  CHECK_NOTHROW(check_binary_type(head, "job.so", "so"));
  Error e = error_from([&] { check_binary_type(head, "job.so", "exec"); });
  CHECK(e.code() == ErrorCode::bad_request);
  CHECK_THAT(e.what(), Catch::Contains("shared object"));
}

TEST_CASE("blobs: a #! script is exec whatever its name, other .py files are py", "[blobs]") {
  CHECK(detect_binary_type("#!/bin/sh\necho hi\n", "run.sh") == "exec");
  CHECK(detect_binary_type("#!/bin/sh\necho hi\n", "run") == "exec");
  CHECK(detect_binary_type("#!/usr/bin/env python3\nprint(1)\n", "job.py") == "exec");
  CHECK(detect_binary_type("print(1)\n", "job.py") == "py");
  CHECK(detect_binary_type("print(1)\n", "JOB.PY") == "py");
}

TEST_CASE("blobs: content that is none of the known kinds is undetected", "[blobs]") {
  CHECK(detect_binary_type("hello world\n", "notes.txt") == "");
  CHECK(detect_binary_type("hello world\n", "run") == "");
  CHECK(detect_binary_type("", "") == "");
  CHECK(detect_binary_type("#", "x") == "");
  CHECK(detect_binary_type("PK", "x.jar") == "");  // too short to be a zip
  CHECK(detect_binary_type("\x7f"
                           "ELF",
                           "x") == "");  // too short to be an ELF header
}

TEST_CASE("blobs: check_binary_type refuses content that cannot be of the requested type", "[blobs]") {
  Error not_exec = error_from([] { check_binary_type("just text\n", "notes.txt", "exec"); });
  CHECK(not_exec.code() == ErrorCode::bad_request);
  CHECK_THAT(not_exec.what(), Catch::Contains("not executable"));
  CHECK_THAT(not_exec.what(), Catch::Contains("notes.txt"));

  Error not_jar = error_from([] { check_binary_type("#!/bin/sh\n", "run.sh", "jar"); });
  CHECK(not_jar.code() == ErrorCode::bad_request);
  CHECK_THAT(not_jar.what(), Catch::Contains("zip"));

  Error not_so = error_from([] { check_binary_type("#!/bin/sh\n", "run.sh", "so"); });
  CHECK(not_so.code() == ErrorCode::bad_request);

  Error exe_as_so = error_from([] { check_binary_type(head_of("/bin/true"), "true", "so"); });
  CHECK(exe_as_so.code() == ErrorCode::bad_request);

  Error binary_as_py = error_from([] { check_binary_type(std::string("\x01\x02\0\x03", 4), "blob", "py"); });
  CHECK(binary_as_py.code() == ErrorCode::bad_request);

  CHECK_NOTHROW(check_binary_type("#!/bin/sh\n", "run.sh", "exec"));
  CHECK_NOTHROW(check_binary_type(k_zip_head, "job.jar", "jar"));
  CHECK_NOTHROW(check_binary_type(k_zip_head, "pkg.whl", "wheel"));
  CHECK_NOTHROW(check_binary_type(k_zip_head, "pkg", "egg"));
  CHECK(error_from([] { check_binary_type(k_zip_head, "pkg.whl", "py"); }).code() == ErrorCode::bad_request);
  CHECK(error_from([] { check_binary_type("print(1)\n", "job.py", "egg"); }).code() == ErrorCode::bad_request);
  CHECK_NOTHROW(check_binary_type("print(1)\n", "job.py", "py"));

  CHECK(sjs::is_binary_type("jar"));
  CHECK(sjs::is_binary_type("exec"));
  CHECK(sjs::is_binary_type("py"));
  CHECK(sjs::is_binary_type("so"));
  CHECK_FALSE(sjs::is_binary_type("zip"));
  CHECK_FALSE(sjs::is_binary_type(""));
}

// ---------------------------------------------------------------- BlobStore

TEST_CASE("blobs: ingest stores a file under its sha256", "[blobs]") {
  TempDir tmp;
  BlobStore blobs(tmp.path() + "/blobs");
  const std::string src = write_file(tmp.path() + "/abc.py", "abc");
  auto got = blobs.ingest(src, "abc.py", "");
  CHECK(got.sha256 == k_sha256_abc);
  CHECK(got.size == 3);
  CHECK(got.type == "py");
  CHECK(blobs.path_for(got.sha256) == tmp.path() + "/blobs/" + k_sha256_abc);
  CHECK(read_bytes(blobs.path_for(got.sha256)) == "abc");
  CHECK(fs::exists(src));  // copied, not moved
  CHECK(entries(tmp.path() + "/blobs") == std::vector<std::string>{k_sha256_abc});
}

TEST_CASE("blobs: ingest hashes like sha256sum, across many read chunks", "[blobs]") {
  TempDir tmp;
  BlobStore blobs(tmp.path() + "/blobs");

  auto got = blobs.ingest("/bin/true", "true", "");
  CHECK(got.sha256 == sha256sum("/bin/true"));
  CHECK(got.type == "exec");
  CHECK(got.size == fs::file_size("/bin/true"));
  CHECK(read_bytes(blobs.path_for(got.sha256)) == read_bytes("/bin/true"));

  // Bigger than the 1 MiB copy buffer, and not a multiple of it.
  std::string big = "#!/bin/sh\n";
  for (std::size_t i = 0; big.size() < (3u << 20) + 12345; ++i) big += std::to_string(i * 2654435761u) + "\n";
  const std::string src = write_file(tmp.path() + "/big.sh", big);
  auto big_got = blobs.ingest(src, "big.sh", "exec");
  CHECK(big_got.sha256 == sha256sum(src));
  CHECK(big_got.size == big.size());
  CHECK(read_bytes(blobs.path_for(big_got.sha256)) == big);
}

TEST_CASE("blobs: the same content ingested twice is stored once", "[blobs]") {
  TempDir tmp;
  BlobStore blobs(tmp.path() + "/blobs");
  const std::string a = write_file(tmp.path() + "/a.sh", "#!/bin/sh\nexit 0\n");
  const std::string b = write_file(tmp.path() + "/b.sh", "#!/bin/sh\nexit 0\n");
  auto first = blobs.ingest(a, "a.sh", "");
  auto second = blobs.ingest(b, "b.sh", "exec");
  CHECK(first.sha256 == second.sha256);
  CHECK(entries(tmp.path() + "/blobs").size() == 1);
  blobs.remove(first.sha256);
  CHECK(entries(tmp.path() + "/blobs").empty());
}

TEST_CASE("blobs: ingest with move_source removes the source after storing it", "[blobs]") {
  TempDir tmp;
  BlobStore blobs(tmp.path() + "/blobs");
  const std::string src = write_file(tmp.path() + "/upload.tmp", "#!/bin/sh\n");
  auto got = blobs.ingest(src, "run.sh", "", true);
  CHECK_FALSE(fs::exists(src));
  CHECK(read_bytes(blobs.path_for(got.sha256)) == "#!/bin/sh\n");
}

TEST_CASE("blobs: ingest refuses bad sources and leaves no temp file behind", "[blobs]") {
  TempDir tmp;
  const std::string dir = tmp.path() + "/blobs";
  BlobStore blobs(dir);
  REQUIRE(entries(dir).empty());

  SECTION("an empty file") {
    const std::string src = write_file(tmp.path() + "/empty.sh", "");
    Error e = error_from([&] { blobs.ingest(src, "empty.sh", "exec"); });
    CHECK(e.code() == ErrorCode::bad_request);
    CHECK_THAT(e.what(), Catch::Contains("empty"));
  }
  SECTION("a directory") {
    fs::create_directory(tmp.path() + "/adir");
    Error e = error_from([&] { blobs.ingest(tmp.path() + "/adir", "adir", "exec"); });
    CHECK(e.code() == ErrorCode::bad_request);
    CHECK_THAT(e.what(), Catch::Contains("adir"));
  }
  SECTION("a missing file") {
    Error e = error_from([&] { blobs.ingest(tmp.path() + "/missing", "missing", ""); });
    CHECK(e.code() == ErrorCode::bad_request);
    CHECK_THAT(e.what(), Catch::Contains("missing"));
  }
  SECTION("text asked to be exec") {
    const std::string src = write_file(tmp.path() + "/notes.txt", "no shebang here\n");
    Error e = error_from([&] { blobs.ingest(src, "notes.txt", "exec"); });
    CHECK(e.code() == ErrorCode::bad_request);
    CHECK_THAT(e.what(), Catch::Contains("not executable"));
  }
  SECTION("a non-zip asked to be a jar") {
    const std::string src = write_file(tmp.path() + "/job.jar", "not a zip");
    Error e = error_from([&] { blobs.ingest(src, "job.jar", "jar"); });
    CHECK(e.code() == ErrorCode::bad_request);
  }
  SECTION("content whose type cannot be told, with no type given") {
    const std::string src = write_file(tmp.path() + "/data.bin", "plain data");
    Error e = error_from([&] { blobs.ingest(src, "data.bin", ""); });
    CHECK(e.code() == ErrorCode::bad_request);
    CHECK_THAT(e.what(), Catch::Contains("--type"));
  }
  SECTION("an unknown type") {
    const std::string src = write_file(tmp.path() + "/run.sh", "#!/bin/sh\n");
    Error e = error_from([&] { blobs.ingest(src, "run.sh", "zip"); });
    CHECK(e.code() == ErrorCode::bad_request);
    CHECK_THAT(e.what(), Catch::Contains("zip"));
    CHECK(fs::exists(src));
  }
  // Nothing stored, and no .upload-* temp file left over.
  CHECK(entries(dir).empty());
}

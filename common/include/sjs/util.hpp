// Small helpers with no sjs concepts in them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sjs/errors.hpp"

namespace sjs {

std::int64_t now_ms();
// Random version-4 UUID, lower-case hex with dashes.
std::string make_uuid();
// A time-ordered UUID (version 7, RFC 9562): 48 bits of Unix ms, a 12-bit counter that keeps
// the ids one process makes in order within a millisecond, then 62 random bits. Job ids are
// these: stored keyed by id, new jobs append to the store's B-trees instead of landing on a
// random page each.
std::string make_time_uuid();
// "2026-11-20T10:15:30.123Z" (UTC) / local time with offset "2026-11-20T11:15:30.123+01:00".
std::string format_utc(std::int64_t ms);
std::string format_local(std::int64_t ms);
// "1.234 s", "2 min 3 s"
std::string format_duration(std::int64_t ms);

// Whole-file helpers; throw Error(bad_request) naming the path on failure.
std::string read_file(const std::string& path);
// True for the errno values of a full disk or an exhausted quota (ENOSPC, EDQUOT).
bool is_disk_full(int err);
// The error for a failed write of `path` with errno `err`: storage_full, naming the path and the fix,
// when the disk is full; else internal ("cannot write <path>: <why>").
Error write_error(const std::string& path, int err);
// New work (a submission, an upload, a data file) is refused while the disk holding sjsd's data has less
// than this free: what is left is kept for the jobs already running (their logs, their ends' commits).
constexpr std::uint64_t k_disk_reserve_bytes = std::uint64_t{4} << 20;
// Throws storage_full, naming `dir` and how much is free, when its file system has less than
// k_disk_reserve_bytes free (for an unprivileged user, as statvfs's f_bavail).
void check_disk_room(const std::string& dir);
// Write to a temp name in the same directory, fsync, rename. A full disk is storage_full.
void write_file_atomic(const std::string& path, std::string_view data, unsigned mode = 0644);

// Names of binaries and contexts: 1-128 chars of [A-Za-z0-9._-], starting with
// a letter or digit, not "." or "..". Throws Error(bad_request) saying what is wrong.
void check_name(std::string_view what, std::string_view name);

bool starts_with(std::string_view s, std::string_view prefix);
bool ends_with(std::string_view s, std::string_view suffix);
// ASCII lower/upper case (header names, schemes, enum-like values); other bytes unchanged.
std::string ascii_lower(std::string s);
std::string ascii_upper(std::string s);
// How deeply JSON text nests arrays and objects (brackets inside strings do not count); stops
// counting past `stop_after`. nlohmann's parser copes with any depth, but writing such a value back
// recurses once per level: input deeper than k_max_json_depth is refused where it comes in.
constexpr std::size_t k_max_json_depth = 512;
std::size_t json_nesting(std::string_view text, std::size_t stop_after = k_max_json_depth + 1);
// Throws Error(bad_request) "<what> nests N levels deep: at most 512 are accepted" when too deep.
void check_json_nesting(std::string_view text, const std::string& what);

// %XX decoding (invalid escapes kept as they are); `plus_is_space` for query strings.
std::string percent_decode(std::string_view s, bool plus_is_space);

}  // namespace sjs

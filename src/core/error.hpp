#pragma once

#include <string>
#include <system_error>

namespace hush {

// Expected failures on the data path. Values are stable: they are mapped to HTTP statuses and
// stable error codes in http/response, and tests compare against them.
enum class errc {
  ok = 0,
  not_found,
  already_exists,
  invalid_argument,
  unauthorized,
  forbidden,
  too_large,
  crypto_failure,
  storage_failure,
  storage_busy,
  io_failure,
  throttled,            // too many failed attempts; try again after a delay
  needs_hashing,        // the answer needs an Argon2id run, which the caller chose to defer
  overloaded,           // a bounded queue is full; try again shortly
  expired,              // a session (or other credential) that existed but has run out
  disk_full,            // the disk (or quota) holding the club is full: nothing was written
  read_only,            // the club directory is on a read-only file system: nothing was written
  not_wiped,            // removed, but a copy of the removed data may remain for a while
  conflict,             // against a rule of the club (the last admin, removing oneself)
  not_published,        // done, but the certificate revocation list could not be rewritten
  stale,                // served from a snapshot that a change overtook: to be served again
  storage_unavailable,  // the store cannot be reached now (a database server down or restarting)
};

const std::error_category& hush_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), hush_category()};
}

}  // namespace hush

template <>
struct std::is_error_code_enum<hush::errc> : std::true_type {};

#include "core/error.hpp"

namespace hush {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "hush"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::ok:
        return "ok";
      case errc::not_found:
        return "not found";
      case errc::already_exists:
        return "already exists";
      case errc::invalid_argument:
        return "invalid argument";
      case errc::unauthorized:
        return "unauthorized";
      case errc::forbidden:
        return "forbidden";
      case errc::too_large:
        return "too large";
      case errc::crypto_failure:
        return "cryptographic check failed";
      case errc::storage_failure:
        return "storage failure";
      case errc::storage_busy:
        return "storage busy";
      case errc::io_failure:
        return "i/o failure";
      case errc::throttled:
        return "too many failed attempts";
      case errc::needs_hashing:
        return "needs a password hash";
      case errc::overloaded:
        return "overloaded";
      case errc::expired:
        return "expired";
      case errc::disk_full:
        return "the disk is full";
      case errc::read_only:
        return "the club directory is read-only";
      case errc::not_wiped:
        return "removed, but not yet wiped from the write-ahead log";
      case errc::conflict:
        return "not allowed: the club needs it";
      case errc::not_published:
        return "done, but the certificate revocation list could not be rewritten";
      case errc::stale:
        return "served from a snapshot that has changed since";
      case errc::storage_unavailable:
        return "the store cannot be reached";
    }
    return "unknown error";
  }
};

}  // namespace

const std::error_category& hush_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace hush

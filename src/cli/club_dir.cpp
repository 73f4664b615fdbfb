#include "cli/club_dir.hpp"

#include <cstdlib>
#include <iostream>
#include <iterator>
#include <stdexcept>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/log.hpp"
#include "crypto/envelope.hpp"

namespace hush::cli {

club_paths resolve_dir(const std::string& flag) {
  if (!flag.empty()) {
    return {flag};
  }
  if (const char* env = std::getenv("HUSH_DIR"); env != nullptr && *env != '\0') {
    return {env};
  }
  return {"hush-data"};
}

void require_club_key(club::keyring& keys, const club_paths& paths) {
  if (auto verified = keys.verify_master_key(); !verified) {
    if (verified.error() == errc::crypto_failure) {
      throw std::runtime_error(paths.master_key().string() + ": does not match this club");
    }
    throw std::runtime_error(paths.database().string() + ": " + verified.error().message());
  }
}

std::unique_ptr<opened_club> open_club(const club_paths& paths) {
  if (!std::filesystem::is_directory(paths.dir)) {
    throw std::runtime_error(paths.dir.string() + ": no club here (run hush init first)");
  }
  for (const auto& path :
       {paths.dir, paths.ca_key(), paths.server_key(), paths.master_key(), paths.database()}) {
    files::require_private(path);
  }

  auto club = std::make_unique<opened_club>();
  club->cfg = config::load(paths.config());
  log::level lvl = log::level::info;
  if (club->cfg.log_level == "debug") {
    lvl = log::level::debug;
  } else if (club->cfg.log_level == "warn") {
    lvl = log::level::warn;
  } else if (club->cfg.log_level == "error") {
    lvl = log::level::error;
  }
  log::set_level(lvl);

  auto master = files::read_secret(paths.master_key());
  if (master.size() != crypto::envelope::key_size) {
    throw std::runtime_error(paths.master_key().string() + ": not a " +
                             std::to_string(crypto::envelope::key_size) + "-byte key");
  }
  club->store = std::make_unique<store::sqlite_store>(paths.database());
  // Into locked memory at once; the file-read buffer is zeroed as it goes.
  club->keys = std::make_unique<club::keyring>(locked_bytes::copy_of(master.span()), *club->store);
  master.clear();
  require_club_key(*club->keys, paths);
  club->hasher = std::make_unique<crypto::password_hasher>(club->cfg.argon2);
  club->domain = std::make_unique<club::club>(*club->store, *club->keys, *club->hasher, club->clock,
                                              club->cfg.max_message_bytes);
  const auth::throttle_policy throttling{
      club->cfg.member_free_failures, club->cfg.address_free_failures,
      club->cfg.throttle_base_delay, club->cfg.throttle_max_delay};
  auth::rate_policy rates;
  rates.member_requests_per_second = club->cfg.member_requests_per_second;
  rates.member_request_burst = club->cfg.member_request_burst;
  club->auth = std::make_unique<auth::authenticator>(*club->store, *club->hasher, club->clock,
                                                     throttling, club->cfg.credential_cache, rates);
  return club;
}

std::string read_stdin_line() {
  std::string line;
  std::getline(std::cin, line);
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
  return line;
}

std::string read_stdin_all() {
  return {std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
}

std::string explain(std::error_code ec, const std::string& subject) {
  if (ec == errc::not_found) {
    return subject + ": not found";
  }
  if (ec == errc::already_exists) {
    return subject + ": already exists";
  }
  if (ec == errc::storage_busy) {
    return "the database is busy; try again";
  }
  if (ec == errc::crypto_failure) {
    return subject + ": cannot be decrypted (wrong master key, or the data was altered)";
  }
  if (ec == errc::disk_full || ec == errc::read_only) {
    return ec.message();  // nothing was written: say why, whatever the subject
  }
  if (ec == errc::not_wiped) {
    return subject +
           ": removed, but not yet wiped from hush.db-wal (another process held a long "
           "read); the next removal, or the last process to close the database, wipes it";
  }
  return subject + ": " + ec.message();
}

}  // namespace hush::cli

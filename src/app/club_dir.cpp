#include "app/club_dir.hpp"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include "app/audit_sinks.hpp"
#include "app/club_ca.hpp"
#include "app/spawned_ca.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/log.hpp"
#include "crypto/envelope.hpp"

namespace hush::app {

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

std::unique_ptr<opened_club> open_club(const club_paths& paths, opened_for use) {
  if (!std::filesystem::is_directory(paths.dir)) {
    throw std::runtime_error(paths.dir.string() + ": no club here (run hush init first)");
  }
  for (const auto& path :
       {paths.dir, paths.ca_key(), paths.server_key(), paths.master_key(), paths.database()}) {
    files::require_private(path);
  }

  auto club = std::make_unique<opened_club>();
  club->paths = paths;
  club->cfg = config::load(paths.config());
  // The config's parser accepts only names these know.
  log::set_level(log::parse_level(club->cfg.log_level).value_or(log::level::info));
  log::set_format(log::parse_format(club->cfg.log_format).value_or(log::format::text));

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
  if (use == opened_for::command) {
    club->ca = std::make_unique<local_ca>(paths, *club->store);
    club->audits = std::make_unique<direct_audit_sink>(*club->store);
  } else {
    club->ca = std::make_unique<spawned_ca>(paths);
    club->audits = std::make_unique<batched_audit_sink>(*club->store);
  }
  club->domain =
      std::make_unique<club::club>(*club->store, *club->keys, *club->hasher, club->clock, *club->ca,
                                   *club->audits, club->cfg.max_message_bytes);
  const auth::throttle_policy throttling{
      club->cfg.member_free_failures, club->cfg.address_free_failures,
      club->cfg.throttle_base_delay, club->cfg.throttle_max_delay};
  auth::rate_policy rates;
  rates.member_requests_per_second = club->cfg.member_requests_per_second;
  rates.member_request_burst = club->cfg.member_request_burst;
  club->auth = std::make_unique<auth::authenticator>(*club->domain, *club->hasher, throttling,
                                                     club->cfg.credential_cache, rates);
  return club;
}

std::vector<std::string> check_database(const club_paths& paths, bool check_master_key) {
  std::vector<std::string> passed;
  store::sqlite_store db(paths.database());
  if (!db.integrity_ok()) {
    throw std::runtime_error(paths.database().string() + ": fails SQLite's integrity check");
  }
  passed.push_back(paths.database().string() + ": opens and passes SQLite's integrity check");
  if (check_master_key) {
    const auto master = files::read_secret(paths.master_key());
    club::keyring keys(locked_bytes::copy_of(master.span()), db);
    require_club_key(keys, paths);
    passed.push_back(paths.master_key().string() + ": matches this club");
  }
  return passed;
}

bool recorded_revoked(const club_paths& paths, const std::string& serial) {
  store::sqlite_store db(paths.database());
  auto certs = db.list_certs();
  if (!certs) {
    throw std::runtime_error(paths.database().string() + ": " + certs.error().message());
  }
  return std::any_of(certs->begin(), certs->end(), [&](const store::issued_cert_record& c) {
    return c.serial == serial && c.revoked();
  });
}

}  // namespace hush::app

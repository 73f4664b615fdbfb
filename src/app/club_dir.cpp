#include "app/club_dir.hpp"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <sys/stat.h>

#include "app/audit_sinks.hpp"
#include "app/club_ca.hpp"
#include "app/guess_ledger.hpp"
#include "app/spawned_ca.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/log.hpp"
#include "crypto/envelope.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/sqlite/sqlite_store.hpp"

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

void require_club_key(club::keyring& keys, const club_paths& paths,
                      const std::filesystem::path& key_file) {
  if (auto verified = keys.verify_master_key(); !verified) {
    if (verified.error() == errc::crypto_failure) {
      throw std::runtime_error(key_file.string() + ": does not match this club");
    }
    throw std::runtime_error(paths.database().string() + ": " + verified.error().message());
  }
}

namespace {

// A rotation writes the new key beside the old (write_pending_key), commits, then renames it over
// the old. Cut short after the commit, the store checks for the new key: if the key in hand
// fails the check and a pending one passes, the rename is finished now. Pending files that do not
// pass (a rotation that never committed, or one still at work in another process) stay.
bool finish_rotation(const std::filesystem::path& key_file, const passphrase_ptr& passphrase,
                     store::store& db) {
  auto stored = db.club_meta(club::key_check_name);
  if (!stored) {
    return false;
  }
  for (const auto& next : pending_key_paths(key_file)) {
    try {
      const auto fresh = read_master_key(next, passphrase);
      if (!constant_time_equal(std::span<const std::uint8_t>(*stored),
                               club::key_check(fresh.span()))) {
        continue;
      }
    } catch (const std::exception&) {
      continue;  // half written, sealed under another passphrase, or not a key: not this one
    }
    rename_into_place(next, key_file);
    log::warn("finished an interrupted master-key rotation: " + key_file.string());
    return true;
  }
  return false;
}

// What a reload attempt saw of one file: enough to tell that it was replaced or rewritten.
struct file_stamp {
  ino_t inode = 0;
  std::int64_t mtime_ns = 0;
  off_t size = -1;
  bool operator==(const file_stamp&) const = default;
};

std::vector<file_stamp> stamps_of(const std::vector<std::filesystem::path>& files) {
  std::vector<file_stamp> stamps;
  stamps.reserve(files.size());
  for (const auto& file : files) {
    struct stat st {};
    file_stamp stamp;
    if (::stat(file.c_str(), &st) == 0) {
      constexpr std::int64_t ns_per_s = 1'000'000'000;
      stamp = {st.st_ino, std::int64_t{st.st_mtim.tv_sec} * ns_per_s + st.st_mtim.tv_nsec,
               st.st_size};
    }
    stamps.push_back(stamp);
  }
  return stamps;
}

}  // namespace

club::keyring::master_key_source master_key_reloader(std::filesystem::path key_file,
                                                     passphrase_ptr passphrase, store::store& db,
                                                     steady_now now) {
  struct state {
    std::mutex mutex;
    bool failed = false;
    std::vector<std::filesystem::path> files;
    std::vector<file_stamp> stamps;
    std::chrono::steady_clock::time_point retry_at;
    std::chrono::milliseconds backoff = reload_backoff_min;
  };
  auto shared = std::make_shared<state>();
  return [file = std::move(key_file), passphrase = std::move(passphrase), &db, now = std::move(now),
          shared]() -> result<locked_bytes> {
    // One attempt at a time: each may unseal (Argon2id, 256 MiB).
    const std::lock_guard lock(shared->mutex);
    try {
      auto files = pending_key_paths(file);
      files.insert(files.begin(), file);
      auto stamps = stamps_of(files);
      if (shared->failed &&
          (now() < shared->retry_at || (files == shared->files && stamps == shared->stamps))) {
        // Nothing new to read yet, or too soon after the last failure.
        return make_error_code(errc::crypto_failure);
      }
      auto stored = db.club_meta(club::key_check_name);
      if (stored) {
        for (const auto& candidate : files) {
          try {
            auto key = read_master_key(candidate, passphrase);
            if (constant_time_equal(std::span<const std::uint8_t>(*stored),
                                    club::key_check(key.span()))) {
              shared->failed = false;
              shared->backoff = reload_backoff_min;
              return key;
            }
          } catch (const std::exception&) {
            // A half-written or unreadable file: the next candidate, and at the end the key in
            // hand stays, and the error is the caller's crypto_failure.
          }
        }
      }
      shared->retry_at = now() + shared->backoff;
      shared->backoff = std::min(shared->backoff * 2, reload_backoff_max);
      shared->failed = true;
      shared->files = std::move(files);
      shared->stamps = std::move(stamps);
    } catch (const std::exception&) {
      // The directory could not be listed: the key in hand stays.
    }
    return make_error_code(errc::crypto_failure);
  };
}

std::unique_ptr<store::store> open_store(const club_paths& paths, const config::config& cfg) {
  if (!cfg.store_url.empty()) {
    return std::make_unique<store::postgres_store>(cfg.store_url);
  }
  files::require_private(paths.database());
  return std::make_unique<store::sqlite_store>(paths.database());
}

void require_empty_store(store::store& db) {
  const auto members = db.list_members();
  if (!members) {
    throw std::runtime_error("store.url: " + members.error().message());
  }
  if (db.club_meta(club::key_check_name) || !members->empty()) {
    throw std::runtime_error(
        "store.url: that database already holds a club; give hush init an empty one, or copy an "
        "instance's club directory to add an instance to that club");
  }
}

std::unique_ptr<opened_club> open_club(const club_paths& paths, opened_for use,
                                       passphrase_ptr passphrase) {
  if (!std::filesystem::is_directory(paths.dir)) {
    throw std::runtime_error(paths.dir.string() + ": no club here (run hush init first)");
  }
  auto club = std::make_unique<opened_club>();
  club->paths = paths;
  club->cfg = config::load(paths.config());
  club->master_key_file = master_key_path(paths, club->cfg);
  for (const auto& path : {paths.dir, paths.ca_key(), paths.server_key()}) {
    files::require_private(path);
  }
  if (club->master_key_file != paths.master_key()) {
    std::error_code ec;
    if (std::filesystem::exists(std::filesystem::symlink_status(paths.master_key(), ec))) {
      // Refused rather than ignored: the point of keeping the key elsewhere is that a copy of the
      // data directory opens nothing.
      throw std::runtime_error(paths.master_key().string() +
                               ": a master key in the data directory, but keys.master_key_file "
                               "names another; remove one of them");
    }
  }
  // The config's parser accepts only names these know.
  log::set_level(log::parse_level(club->cfg.log_level).value_or(log::level::info));
  log::set_format(log::parse_format(club->cfg.log_format).value_or(log::format::text));

  if (!passphrase && is_sealed(club->master_key_file)) {
    passphrase = passphrase_from_environment();
  }
  club->passphrase = passphrase;
  auto master = read_master_key(club->master_key_file, passphrase);
  club->store = open_store(paths, club->cfg);
  {
    auto stored = club->store->club_meta(club::key_check_name);
    if (stored &&
        !constant_time_equal(std::span<const std::uint8_t>(*stored),
                             club::key_check(master.span())) &&
        finish_rotation(club->master_key_file, passphrase, *club->store)) {
      master = read_master_key(club->master_key_file, passphrase);
    }
  }
  // Derived now, while the master key is in hand; every instance derives the same.
  auto guess_key = club::derived_key(master.span(), guess_ledger::key_label);
  club::keyring::master_key_source reload;
  if (use == opened_for::serving) {
    reload = master_key_reloader(club->master_key_file, passphrase, *club->store);
  }
  club->keys = std::make_unique<club::keyring>(std::move(master), *club->store, std::move(reload));
  require_club_key(*club->keys, paths, club->master_key_file);
  if (use == opened_for::serving) {
    // Every data key in memory from the start: a data-key rotation that removes the old ones
    // from the store cannot pull a key from under a read in flight.
    if (auto loaded = club->keys->load_all(); !loaded) {
      throw std::runtime_error(club->master_key_file.string() +
                               ": a data key does not unwrap with it: " + loaded.error().message());
    }
  }
  club->hasher = std::make_unique<crypto::password_hasher>(club->cfg.argon2);
  if (use == opened_for::command) {
    club->ca = std::make_unique<local_ca>(paths, *club->store);
    club->audits = std::make_unique<direct_audit_sink>(*club->store);
  } else {
    club->ca = std::make_unique<spawned_ca>(paths);
    // The views are read through the club, which is made below and outlives every refresh.
    club->views = std::make_unique<club::read_views>(
        [domain = &club->domain] { return (*domain)->load_view(); });
    club->audits = std::make_unique<batched_audit_sink>(*club->store, club->views.get());
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
  if (auto* shared = club->store->shared_guesses()) {
    club->guesses = std::make_unique<guess_ledger>(*shared, std::move(guess_key));
  }
  club->auth =
      std::make_unique<auth::authenticator>(*club->domain, *club->hasher, throttling,
                                            club->cfg.credential_cache, rates, club->guesses.get());
  return club;
}

std::vector<std::string> check_database(const club_paths& paths, bool check_master_key) {
  std::vector<std::string> passed;
  const auto cfg = config::load(paths.config());
  const auto db = open_store(paths, cfg);
  if (cfg.store_url.empty()) {
    if (!static_cast<store::sqlite_store&>(*db).integrity_ok()) {
      throw std::runtime_error(paths.database().string() + ": fails SQLite's integrity check");
    }
    passed.push_back(paths.database().string() + ": opens and passes SQLite's integrity check");
  } else {
    // PostgreSQL checks its own pages; opening it has checked the schema and its triggers.
    passed.emplace_back("store.url: PostgreSQL answers, and its schema is this hush's");
  }
  if (check_master_key) {
    const auto key_file = master_key_path(paths, cfg);
    auto passphrase = is_sealed(key_file) ? passphrase_from_environment() : nullptr;
    if (is_sealed(key_file) && !passphrase) {
      passed.push_back(key_file.string() +
                       ": sealed under a passphrase; not checked (give it on HUSH_UNSEAL_FD)");
      return passed;
    }
    club::keyring keys(read_master_key(key_file, passphrase), *db);
    require_club_key(keys, paths, key_file);
    passed.push_back(key_file.string() + ": matches this club");
  }
  return passed;
}

bool recorded_revoked(const club_paths& paths, const std::string& serial) {
  const auto db = open_store(paths, config::load(paths.config()));
  auto certs = db->list_certs();
  if (!certs) {
    throw std::runtime_error(paths.database().string() + ": " + certs.error().message());
  }
  return std::any_of(certs->begin(), certs->end(), [&](const store::issued_cert_record& c) {
    return c.serial == serial && c.revoked();
  });
}

}  // namespace hush::app

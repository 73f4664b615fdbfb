#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "app/master_key.hpp"
#include "auth/authenticator.hpp"
#include "club/audit.hpp"
#include "club/certificate_authority.hpp"
#include "club/club.hpp"
#include "club/keyring.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "crypto/password.hpp"
#include "store/store.hpp"

namespace hush::app {

// Where a club's files live inside its data directory.
struct club_paths {
  std::filesystem::path dir;
  std::filesystem::path ca_cert() const { return dir / "ca.pem"; }
  std::filesystem::path ca_key() const { return dir / "ca.key"; }
  std::filesystem::path ca_crl() const { return dir / "ca.crl"; }
  std::filesystem::path server_cert() const { return dir / "server.pem"; }
  std::filesystem::path server_key() const { return dir / "server.key"; }
  std::filesystem::path master_key() const { return dir / "master.key"; }
  std::filesystem::path config() const { return dir / "hush.toml"; }
  std::filesystem::path database() const { return dir / "hush.db"; }
  // Held (flock) by every command that changes the master key or the data keys.
  std::filesystem::path keys_lock() const { return dir / "keys.lock"; }
  // Held shared by each server while it serves, exclusively by hush migrate while it copies. It
  // holds nothing, and is made 0644, so that whoever made it, any user may lock it.
  std::filesystem::path serve_lock() const { return dir / "serve.lock"; }
  static constexpr mode_t serve_lock_mode = 0644;
};

// --dir if given, else $HUSH_DIR, else ./hush-data.
club_paths resolve_dir(const std::string& flag);

// Who opens the club, which decides how it is wired. A command (run by the administrator) signs
// with the CA key in process and commits each audit record at once. The server never reads the
// CA key (a child process rewrites the revocation list) and commits audit records in batches.
enum class opened_for { command, serving };

// A club opened for use: everything the server and the CLI commands work with, wired together.
// Opening checks that the directory and every secret file are private (0700/0600) and throws
// std::runtime_error, naming the file, when one is not.
struct opened_club {
  club_paths paths;
  config::config cfg;
  // Where the master key was read from (master_key_path), and the passphrase it was unsealed
  // with, if it is sealed.
  std::filesystem::path master_key_file;
  passphrase_ptr passphrase;
  system_clock clock;
  // SQLite's file in the data directory, or PostgreSQL when the config names it ([store] url).
  std::unique_ptr<store::store> store;
  std::unique_ptr<club::keyring> keys;
  std::unique_ptr<crypto::password_hasher> hasher;
  std::unique_ptr<club::certificate_authority> ca;
  // For serving: the in-memory views of what a read needs, which the audit sink's commits keep
  // honest (before the sink, which reports to them until it is destroyed). Null for a command.
  std::unique_ptr<club::read_views> views;
  std::unique_ptr<club::audit_sink> audits;
  std::unique_ptr<club::club> domain;
  // The throttle's counts in the store, when several servers share it (PostgreSQL); else null.
  std::unique_ptr<auth::failure_ledger> guesses;
  std::unique_ptr<auth::authenticator> auth;
};

// The club's store, as its config says: PostgreSQL when store.url is set (shared by every
// instance), else the SQLite file in the club directory, which must be private. Throws
// std::runtime_error (startup only).
std::unique_ptr<store::store> open_store(const club_paths& paths, const config::config& cfg);

// For hush init --store: throws std::runtime_error unless the store holds no club yet (no key
// check, no member), so that a second init can never mix two clubs' keys in one database.
void require_empty_store(store::store& db);

// A sealed master key opens with `passphrase`, else with the one on $HUSH_UNSEAL_FD. A rotation
// of the master key that was cut short between its commit and its rename is finished here. The
// server's keyring follows a later rotation by reading the key file again, and holds every data
// key unwrapped from the start.
std::unique_ptr<opened_club> open_club(const club_paths& paths,
                                       opened_for use = opened_for::command,
                                       passphrase_ptr passphrase = nullptr);

// The source a serving keyring reloads the master key from after a rotation by another process
// (keyring::master_key_source): the key file, or a rotation's pending file (pending_key_paths),
// whichever passes the store's key check. Thread safe, one attempt at a time. Each attempt may
// unseal a sealed key (Argon2id, 256 MiB), so after one fails the next is skipped, answering
// crypto_failure at once, until the files have changed (inode, modification time, size of each,
// or the list of pending ones) and a back-off has passed (reload_backoff_min, doubling up to
// reload_backoff_max, reset by a success). `now` is the clock, injectable for tests.
using steady_now = std::function<std::chrono::steady_clock::time_point()>;
inline constexpr std::chrono::milliseconds reload_backoff_min{500};
inline constexpr std::chrono::milliseconds reload_backoff_max{30'000};
club::keyring::master_key_source master_key_reloader(
    std::filesystem::path key_file, passphrase_ptr passphrase, store::store& db,
    steady_now now = [] { return std::chrono::steady_clock::now(); });

// Throws std::runtime_error ("<key file>: does not match this club") unless the keyring's master
// key is this club's (keyring::verify_master_key).
void require_club_key(club::keyring& keys, const club_paths& paths,
                      const std::filesystem::path& key_file);

// hush doctor's look at the database without opening the club: it opens and passes the
// backend's integrity check, and, with `check_master_key`, master.key is this club's. Throws
// std::runtime_error naming what fails; returns one line per check passed.
std::vector<std::string> check_database(const club_paths& paths, bool check_master_key);
// True if the store records this certificate serial as revoked.
bool recorded_revoked(const club_paths& paths, const std::string& serial);

}  // namespace hush::app

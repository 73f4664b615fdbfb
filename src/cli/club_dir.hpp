#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "auth/authenticator.hpp"
#include "club/club.hpp"
#include "club/keyring.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "crypto/password.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace hush::cli {

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
};

// --dir if given, else $HUSH_DIR, else ./hush-data.
club_paths resolve_dir(const std::string& flag);

// A club opened for use: everything the server and the CLI commands work with. Opening checks
// that the directory and every secret file are private (0700/0600) and throws
// std::runtime_error, naming the file, when one is not.
struct opened_club {
  config::config cfg;
  system_clock clock;
  std::unique_ptr<store::sqlite_store> store;
  std::unique_ptr<club::keyring> keys;
  std::unique_ptr<crypto::password_hasher> hasher;
  std::unique_ptr<club::club> domain;
  std::unique_ptr<auth::authenticator> auth;
};

std::unique_ptr<opened_club> open_club(const club_paths& paths);

// Throws std::runtime_error ("master.key does not match this club") unless the keyring's master
// key is this club's (keyring::verify_master_key).
void require_club_key(club::keyring& keys, const club_paths& paths);

// Reads one line from standard input (a password), without its line ending.
std::string read_stdin_line();
// Reads all of standard input.
std::string read_stdin_all();

// A one-line explanation of a data-path error for the person at the terminal.
std::string explain(std::error_code ec, const std::string& subject);

}  // namespace hush::cli

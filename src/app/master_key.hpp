#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/locked.hpp"
#include "core/secret.hpp"

namespace hush::app {

struct club_paths;

// The passphrase a sealed master key opens with; shared by whoever needs to read the key again
// (the server's keyring, after a rotation). Never logged.
using passphrase_ptr = std::shared_ptr<const secret_string>;

// Where the club's master key lives: keys.master_key_file (a leading "$CREDENTIALS_DIRECTORY/"
// is the directory systemd gives the service its credentials in), else master.key in the data
// directory. Throws std::runtime_error when $CREDENTIALS_DIRECTORY is named but not set.
std::filesystem::path master_key_path(const club_paths& paths, const config::config& cfg);

// A master-key rotation writes the new key to a file of its own beside the key (name
// "<key file>.next-<random>", created exclusively, so that it never takes over another
// process's), commits, then renames it over the key. Returns the file written (0600, synced:
// write_master_key). Throws std::runtime_error naming it.
std::filesystem::path write_pending_key(const std::filesystem::path& key_file,
                                        std::span<const std::uint8_t> key,
                                        const passphrase_ptr& passphrase);

// Every file a rotation may have left beside the key, oldest name first: "<key file>.next-*",
// and "<key file>.next" (the one name older versions used). A rotation cut short between its
// commit and its rename left the club's key in one of them; the others are keys that never
// committed, and are left alone (never removed: one may be another process's, at work).
std::vector<std::filesystem::path> pending_key_paths(const std::filesystem::path& key_file);

// A temporary file beside the key for `hush key seal` and `unseal` ("<key file>.new-<random>"),
// never one a rotation's recovery reads.
std::filesystem::path temp_key_path(const std::filesystem::path& key_file);

// True if the file holds a master key sealed under a passphrase (crypto::passphrase), not the
// raw 32 bytes. Reads it as read_secret does (private, not a link).
bool is_sealed(const std::filesystem::path& key_file);

// Reads a master key: the raw 32 bytes, or a sealed one opened with `passphrase`. Throws
// std::runtime_error, naming the file: not private (group or others may read it), not a key,
// sealed and no passphrase given ("start with --unseal-stdin"), or a wrong passphrase.
locked_bytes read_master_key(const std::filesystem::path& key_file,
                             const passphrase_ptr& passphrase);

// The same for a key file's contents already in memory (a backup's keys); `what` names them in
// the errors.
locked_bytes open_master_key(std::span<const std::uint8_t> bytes, const passphrase_ptr& passphrase,
                             const std::string& what);

// Writes a master key to a file that must not exist (0600, synced): raw, or sealed under
// `passphrase` when one is given.
void write_master_key(const std::filesystem::path& key_file, std::span<const std::uint8_t> key,
                      const passphrase_ptr& passphrase);

// Renames `from` over `to` and syncs the directory. Throws std::runtime_error naming both.
void rename_into_place(const std::filesystem::path& from, const std::filesystem::path& to);

// The passphrase from the file descriptor named by $HUSH_UNSEAL_FD (one line), for commands
// other than `hush serve --unseal-stdin`; nullptr when the variable is not set. Throws when it is
// set but cannot be read.
passphrase_ptr passphrase_from_environment();

// Reads one passphrase line from standard input (at most max_passphrase_bytes); throws
// std::runtime_error if it is shorter than crypto::passphrase::min_passphrase_size.
passphrase_ptr passphrase_from_stdin(const std::string& what);

inline constexpr std::size_t max_passphrase_bytes = 1024;

}  // namespace hush::app

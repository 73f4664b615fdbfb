#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "app/club_dir.hpp"
#include "app/master_key.hpp"

namespace hush::app {

// What a backup made by make_backup holds, for the lines the CLI prints.
struct backup_summary {
  bool with_keys = false;
  std::size_t bytes = 0;
};

// Writes a backup of the club to `file` (which must not exist) while the server may be running:
// a consistent copy of the database (one read transaction; never torn), the config, the
// certificates and the CRL. With a `keys_passphrase` it also holds master.key, ca.key and
// server.key, sealed together under that passphrase (crypto::passphrase: Argon2id and
// XChaCha20-Poly1305); a sealed master key goes in both raw (to check the restore) and as its
// sealed file, which restore writes back. Without one it holds no key at all. The file is 0600 and
// appears whole (written beside it, then renamed). Throws std::runtime_error with a one-line
// reason.
backup_summary make_backup(const club_paths& paths, const std::filesystem::path& file,
                           const passphrase_ptr& keys_passphrase);

// True if the backup carries sealed keys (it was made with --with-keys). Throws
// std::runtime_error if it is not a hush backup.
bool backup_has_keys(const std::filesystem::path& file);

// Where a restore takes its keys from: the backup itself (opened with `backup_passphrase`), or a
// directory holding master.key, ca.key and server.key as a data directory does (a copy kept
// apart from the backup).
struct restore_keys {
  passphrase_ptr backup_passphrase;
  std::optional<std::filesystem::path> keys_dir;
};

// What restore_backup made, for the lines the CLI prints.
struct restore_summary {
  std::filesystem::path dir;
  // Set when hush.toml names keys.master_key_file (and the path can be resolved here): where
  // the master key belongs.
  std::optional<std::filesystem::path> master_key_elsewhere;
  // Set when the master key from a --with-keys backup was written outside the data directory's
  // master.key: at master_key_elsewhere when no file was there (0600, created exclusively),
  // else as master.key.restored in the new club's directory, to be moved by the administrator.
  // Unset with --keys (the key stays where it was read).
  std::optional<std::filesystem::path> master_key_written;
  // The restored master key file is sealed under a passphrase: the one it was sealed under when
  // the backup was made (or as the --keys file was); hush serve needs --unseal-stdin.
  bool master_key_sealed = false;
};

// Makes a new club in `target` from a backup: refuses a target that exists and is not an empty
// directory; builds the club beside it and renames it into place only once the database passes
// its integrity check and the master key opens every data key (checked in memory). The master
// key is never dropped: see restore_summary. Throws std::runtime_error with a
// one-line reason (a wrong passphrase says so).
restore_summary restore_backup(const std::filesystem::path& file, const club_paths& target,
                               const restore_keys& keys);

}  // namespace hush::app

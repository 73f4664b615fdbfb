#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "core/result.hpp"
#include "core/secret.hpp"

namespace hush::files {

// Reads a whole file that holds nothing secret (a certificate, a CRL, the config). Throws
// std::runtime_error naming the path; for startup and the CLI.
std::string read_text(const std::filesystem::path& path);

// The most a private file (a key) may hold; anything larger is not one of ours.
inline constexpr std::size_t max_private_file_size = 1 << 20;

// Reads a private file (master.key, server.key, ca.key, a Fernet key) the safe way: opened once
// without following a symbolic link, and the open descriptor checked (a regular file, owned by
// the current user, no group or other permission bits, at most max_private_file_size) before it
// is read. The bytes go straight into the zeroed buffer returned; no other copy is left behind.
// Throws std::runtime_error naming the path and saying why (one line).
secret_bytes read_secret(const std::filesystem::path& path);

// Creates the file exclusively (fails if it exists) with the given mode, writes, fsyncs it and its
// directory. Throws std::runtime_error naming the path.
void write_new(const std::filesystem::path& path, std::string_view contents, mode_t mode);

// Replaces the file atomically: writes a temporary file beside it (write_new), then renames it
// over `path`, so that a reader sees the old contents or the new, never a mix. Throws
// std::runtime_error naming the path; the old file is then untouched.
void replace(const std::filesystem::path& path, std::string_view contents, mode_t mode);

// Syncs a directory, so that a file created or renamed in it survives a crash. Best effort: a
// file system that cannot sync a directory is not an error.
void sync_directory(const std::filesystem::path& dir);

// Throws std::runtime_error if the path is readable, writable or executable by group or others,
// is not owned by the current user, or is not a regular file or directory: a secret that others
// can read is already lost. A file must not be a symbolic link (a link lets whoever can write
// its target's directory swap the secret); a directory may be reached through one.
void require_private(const std::filesystem::path& path);

// An exclusive flock(2) held from construction until destruction (or a move away), across
// processes: on a directory itself (no file to leave behind), or on a lock file, created 0600
// if missing (never through a symbolic link). Blocks until the lock is free. Throws
// std::runtime_error naming the path if it cannot be opened or locked. Movable, not copyable.
class exclusive_lock {
 public:
  static exclusive_lock on_directory(const std::filesystem::path& dir);
  static exclusive_lock on_file(const std::filesystem::path& file);
  // On a lock file, without waiting: nullopt when another process holds it in a conflicting
  // mode. `shared`: any number of shared holders at once, none beside an exclusive one (the name
  // of the class notwithstanding). An existing file is opened read-only (a lock needs no more,
  // so it works on a read-only mount and for a user who cannot write it); a missing one is made
  // with `create_mode` (never through a symbolic link). Throws std::runtime_error naming the
  // path if it cannot be opened or locked.
  enum class mode { exclusive, shared };
  static std::optional<exclusive_lock> try_on_file(const std::filesystem::path& file, mode how,
                                                   mode_t create_mode);
  exclusive_lock(const exclusive_lock&) = delete;
  exclusive_lock& operator=(const exclusive_lock&) = delete;
  exclusive_lock(exclusive_lock&& other) noexcept;
  exclusive_lock& operator=(exclusive_lock&& other) noexcept;
  ~exclusive_lock();  // closing the descriptor releases the lock

 private:
  exclusive_lock() = default;
  exclusive_lock(const std::filesystem::path& path, int fd);
  int fd_ = -1;
};

// A file or directory being made: removed (recursively) when this goes, unless keep() was called
// once the work finished, so a failure half way leaves nothing behind. Not copyable.
class scratch {
 public:
  explicit scratch(std::filesystem::path path) : path_(std::move(path)) {}
  scratch(const scratch&) = delete;
  scratch& operator=(const scratch&) = delete;
  ~scratch();

  const std::filesystem::path& path() const { return path_; }
  void keep() { kept_ = true; }

 private:
  std::filesystem::path path_;
  bool kept_ = false;
};

}  // namespace hush::files

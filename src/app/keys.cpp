#include "app/keys.hpp"

#include <stdexcept>
#include <thread>
#include <unistd.h>

#include "core/error.hpp"
#include "core/files.hpp"
#include "crypto/envelope.hpp"
#include "crypto/random.hpp"

namespace hush::app {
namespace {

namespace fs = std::filesystem;

void require_writable_dir(const fs::path& key_file) {
  const auto dir = fs::absolute(key_file).parent_path();
  if (::access(dir.c_str(), W_OK) != 0) {
    throw std::runtime_error(dir.string() +
                             ": not writable, so the master key there cannot be replaced "
                             "(nothing was changed)");
  }
}

// Serialises the commands that change keys (rotate, rotate --data, seal, unseal) across
// processes: each reads the key, works outside the store's transaction, and replaces the key
// file, and two at once would each act on a key the other is replacing. Taken before the club is
// opened, so that the key read is the one the work is done with. The store's compare and swap
// on the key check (rewrap_data_keys, add_data_key) still guards against a writer without it.
files::exclusive_lock lock_keys(const club_paths& paths) {
  if (!fs::is_directory(paths.dir)) {
    throw std::runtime_error(paths.dir.string() + ": no club here (run hush init first)");
  }
  return files::exclusive_lock::on_file(paths.keys_lock());
}

std::string why(std::error_code ec) {
  if (ec == errc::conflict) {
    return "a data key was added, or the master key rotated, meanwhile; run it again";
  }
  if (ec == errc::crypto_failure) {
    return "a data key or a message does not open (wrong key, or the data was altered)";
  }
  return ec.message();
}

// Writes the key (sealed or not) to a temporary file of this run's own, then renames it over
// the key file; the temporary file goes if anything fails before the rename.
void replace_key_file(const fs::path& key_file, std::span<const std::uint8_t> key,
                      const passphrase_ptr& passphrase) {
  const auto temp = temp_key_path(key_file);
  try {
    write_master_key(temp, key, passphrase);
    rename_into_place(temp, key_file);
  } catch (...) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw;
  }
}

}  // namespace

void rotate_master_key(const club_paths& paths, const passphrase_ptr& passphrase) {
  const auto lock = lock_keys(paths);
  auto club = open_club(paths, opened_for::command, passphrase);
  const auto key_file = club->master_key_file;
  require_writable_dir(key_file);
  // A file of this run's own (created exclusively): a pending file left by another run is never
  // touched here (open_club has already finished one that committed).
  auto fresh = crypto::random_bytes(crypto::envelope::key_size);
  const auto next = write_pending_key(key_file, fresh.span(), club->passphrase);
  if (auto rotated = club->domain->rotate_master_key(locked_bytes::copy_of(fresh.span()));
      !rotated) {
    std::error_code ignored;
    fs::remove(next, ignored);
    throw std::runtime_error("master key not rotated: " + why(rotated.error()));
  }
  fresh.clear();
  // Committed: from here on the new key is the club's, and the rename finishes the rotation (or
  // the next open does).
  rename_into_place(next, key_file);
}

void rotate_data_key(const club_paths& paths, const passphrase_ptr& passphrase, std::size_t batch,
                     std::chrono::milliseconds pause,
                     const std::function<void(const data_rotation_progress&)>& report) {
  const auto lock = lock_keys(paths);
  auto club = open_club(paths, opened_for::command, passphrase);
  auto started = club->domain->start_data_key_rotation();
  if (!started) {
    throw std::runtime_error("data key not rotated: " + why(started.error()));
  }
  data_rotation_progress progress;
  progress.key = started->key;
  progress.resumed = started->resumed;
  report(progress);
  std::optional<store::message_id> after;
  // Bounded: each step moves past at least one message or ends the walk.
  for (;;) {
    auto step = club->domain->reseal_messages(after, batch);
    if (!step) {
      throw std::runtime_error("re-sealing stopped (run it again to resume): " + why(step.error()));
    }
    progress.resealed += step->resealed;
    after = step->next;
    if (step->done) {
      break;
    }
    report(progress);
    if (pause.count() > 0) {
      std::this_thread::sleep_for(pause);
    }
  }
  auto retired = club->domain->retire_old_data_keys();
  if (!retired) {
    throw std::runtime_error("every message was re-sealed, but the old data keys stay: " +
                             why(retired.error()) + "; run it again");
  }
  progress.retired = *retired;
  progress.done = true;
  report(progress);
}

void seal_master_key(const club_paths& paths, const passphrase_ptr& passphrase) {
  const auto lock = lock_keys(paths);
  auto club = open_club(paths);
  if (club->passphrase) {
    throw std::runtime_error(club->master_key_file.string() + ": already sealed");
  }
  require_writable_dir(club->master_key_file);
  const auto key = read_master_key(club->master_key_file, nullptr);
  replace_key_file(club->master_key_file, key.span(), passphrase);
}

void unseal_master_key(const club_paths& paths, const passphrase_ptr& passphrase) {
  const auto lock = lock_keys(paths);
  auto club = open_club(paths, opened_for::command, passphrase);
  if (!club->passphrase) {
    throw std::runtime_error(club->master_key_file.string() + ": not sealed");
  }
  require_writable_dir(club->master_key_file);
  const auto key = read_master_key(club->master_key_file, passphrase);
  replace_key_file(club->master_key_file, key.span(), nullptr);
}

}  // namespace hush::app

#pragma once

#include <chrono>
#include <cstddef>
#include <functional>

#include "app/club_dir.hpp"
#include "app/master_key.hpp"

namespace hush::app {

// The commands below hold an exclusive lock on the club's keys.lock while they work, so that
// two of them (in any processes) run one after the other, never at once.

// `hush key rotate`: a new master key, online. The new key is written beside the old one
// (write_pending_key, 0600, synced; sealed under the same passphrase if the old one was sealed),
// every data key is rewrapped under it in one commit, and then it is renamed over the old file,
// so the old key is gone. Cut short after the commit, the next open_club finishes the rename. A
// running server picks the new key up from the file when it first needs it. Throws
// std::runtime_error with a one-line reason; nothing changes on failure.
void rotate_master_key(const club_paths& paths, const passphrase_ptr& passphrase);

// Progress of a data-key rotation, for the CLI's lines.
struct data_rotation_progress {
  std::uint32_t key = 0;
  bool resumed = false;
  std::size_t resealed = 0;  // so far, in this run
  bool done = false;
  std::size_t retired = 0;  // old keys removed at the end
};

// `hush key rotate --data`: a new data key (or the unfinished rotation's), then every message
// re-sealed under it in batches of `batch` (one commit each, `pause` between them), then the old
// data keys removed. Safe to kill at any point and run again: it resumes. `report` runs after
// start, after each batch and at the end.
void rotate_data_key(const club_paths& paths, const passphrase_ptr& passphrase, std::size_t batch,
                     std::chrono::milliseconds pause,
                     const std::function<void(const data_rotation_progress&)>& report);

// `hush key seal`: replaces the raw master key file with the key sealed under `passphrase`
// (atomically); `hush serve --unseal-stdin` then reads the passphrase at start. Refuses a key
// that is already sealed.
void seal_master_key(const club_paths& paths, const passphrase_ptr& passphrase);
// `hush key unseal`: the reverse, with the passphrase the key is sealed under.
void unseal_master_key(const club_paths& paths, const passphrase_ptr& passphrase);

}  // namespace hush::app

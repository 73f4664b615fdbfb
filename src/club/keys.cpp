// The club's key use cases: master-key and data-key rotation.
#include "club/club.hpp"
#include "core/error.hpp"
#include "crypto/envelope.hpp"

namespace hush::club {

namespace envelope = crypto::envelope;

namespace {

// The pages retire_old_data_keys reads while it checks that no message needs an old key.
constexpr std::size_t check_page = 1000;

}  // namespace

result<void> club::rotate_master_key(locked_bytes fresh) {
  return keys_.rotate_master_key(std::move(fresh));
}

result<club::data_key_rotation> club::start_data_key_rotation() {
  // Every key this process may need to open an old body, unwrapped before anything changes.
  if (auto loaded = keys_.load_all(); !loaded) {
    return loaded.error();
  }
  auto keys = store_.list_data_keys();
  if (!keys) {
    return keys.error();
  }
  // Finished rotations leave one key: more than one means one was cut short (or the new key was
  // added and then the process died), and finishing it is what the caller wants, not a third key.
  if (keys->size() > 1) {
    return data_key_rotation{keys->back().id, true};
  }
  auto added = keys_.add_data_key(clock_.now_seconds());
  if (!added) {
    return added.error();
  }
  return data_key_rotation{*added, false};
}

result<club::reseal_step> club::reseal_messages(std::optional<store::message_id> after,
                                                std::size_t batch) {
  auto target = keys_.sealing_key_id();
  if (!target) {
    return target.error();
  }
  auto page = store_.sealed_messages(after, batch);
  if (!page) {
    return page.error();
  }
  std::vector<store::resealed_message> changes;
  for (const auto& row : *page) {
    auto key = envelope::key_id(row.sealed);
    if (!key) {
      return key.error();
    }
    if (*key == *target) {
      continue;
    }
    auto body = keys_.open(row.sealed, message_context(row));
    if (!body) {
      return body.error();
    }
    // Re-sealed with the richer associated data (version 2) whatever the old version was.
    auto sealed = keys_.seal(body->span(), sealing_context(row), envelope::version_2);
    if (!sealed) {
      return sealed.error();
    }
    changes.push_back({row.id, row.sealed, std::move(*sealed)});
  }
  reseal_step step;
  if (!changes.empty()) {
    auto replaced = store_.reseal_messages(changes);
    if (!replaced) {
      return replaced.error();
    }
    step.resealed = *replaced;
  }
  step.next = page->empty() ? after : std::optional(page->back().id);
  step.done = page->size() < batch;
  return step;
}

result<std::size_t> club::retire_old_data_keys() {
  auto target = keys_.sealing_key_id();
  if (!target) {
    return target.error();
  }
  // A writer that read the old key before the new one was committed committed its row before
  // the new key could be (the store serialises writers), so every such row is in this scan.
  std::optional<store::message_id> after;
  for (;;) {
    auto page = store_.sealed_messages(after, check_page);
    if (!page) {
      return page.error();
    }
    for (const auto& row : *page) {
      auto key = envelope::key_id(row.sealed);
      if (!key) {
        return key.error();
      }
      if (*key != *target) {
        return make_error_code(errc::conflict);
      }
    }
    if (page->size() < check_page) {
      break;
    }
    after = page->back().id;
  }
  auto keys = store_.list_data_keys();
  if (!keys) {
    return keys.error();
  }
  std::size_t removed = 0;
  for (const auto& key : *keys) {
    if (key.id < *target) {
      if (auto gone = store_.remove_data_key(key.id); !gone) {
        return gone.error();
      }
      ++removed;
    }
  }
  return removed;
}

}  // namespace hush::club

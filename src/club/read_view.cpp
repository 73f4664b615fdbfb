#include "club/read_view.hpp"

#include <algorithm>
#include <cstring>

#include "core/error.hpp"
#include "core/secret.hpp"

namespace hush::club {

std::size_t read_view::token_key_hash::operator()(const token_key& key) const noexcept {
  std::size_t bucket = 0;
  std::memcpy(&bucket, key.data(), sizeof bucket);
  return bucket;
}

read_view::read_view(store::read_snapshot snapshot)
    : generation_(snapshot.generation), newest_(std::move(snapshot.newest)) {
  for (auto& token : snapshot.tokens) {
    token_key key{};
    if (token.hash.size() != key.size()) {
      continue;  // not a hash this club makes: never matched, as in the store
    }
    std::ranges::copy(token.hash, key.begin());
    tokens_.emplace(key, token_entry{token.expires_at, std::move(token.member)});
  }
  for (auto& member : snapshot.members) {
    auto name = member.name;
    members_.emplace(std::move(name), std::move(member));
  }
}

read_view::~read_view() {
  if (newest_) {
    secure_zero(newest_->sealed.data(), newest_->sealed.size());
  }
  for (auto& [name, member] : members_) {
    secure_zero(member.password_hash.data(), member.password_hash.size());
  }
  for (auto& [key, token] : tokens_) {
    secure_zero(token.member.password_hash.data(), token.member.password_hash.size());
  }
}

const store::member_record* read_view::member_by_token_hash(std::span<const std::uint8_t> hash,
                                                            std::int64_t now) const {
  token_key key{};
  if (hash.size() != key.size()) {
    return nullptr;
  }
  std::ranges::copy(hash, key.begin());
  const auto found = tokens_.find(key);
  if (found == tokens_.end() ||
      (found->second.expires_at != 0 && found->second.expires_at <= now)) {
    return nullptr;
  }
  return &found->second.member;
}

const store::member_record* read_view::find_member(std::string_view name) const {
  const auto found = members_.find(name);
  return found == members_.end() ? nullptr : &found->second;
}

std::shared_ptr<const read_view> read_views::current() const {
  auto view = view_.load(std::memory_order_acquire);
  if (view && view->generation() != seen_.load(std::memory_order_acquire)) {
    return nullptr;
  }
  return view;
}

void read_views::saw(std::uint64_t generation) noexcept {
  // The last report wins, not the largest: a store put back to an older state (a file restored
  // under a running server) goes back too, and a view of the newer state must then stop being
  // served. Reports come in commit order; one that races a refresh at worst costs a reload.
  seen_.store(generation, std::memory_order_release);
}

bool read_views::stale() const {
  const auto view = view_.load(std::memory_order_acquire);
  return !view || view->generation() != seen_.load(std::memory_order_acquire);
}

result<void> read_views::refresh() {
  const std::unique_lock loading(loading_, std::try_to_lock);
  if (!loading.owns_lock()) {
    return {};
  }
  auto fresh = load_();
  if (!fresh) {
    return fresh.error();
  }
  // Read after the commits that saw an older generation: what the store holds now.
  const auto generation = (*fresh)->generation();
  view_.store(std::move(*fresh), std::memory_order_release);
  saw(generation);
  return {};
}

}  // namespace hush::club

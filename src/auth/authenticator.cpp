#include "auth/authenticator.hpp"

#include <algorithm>
#include <cctype>

#include "auth/sessions.hpp"
#include "auth/tokens.hpp"
#include "club/club.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "crypto/encoding.hpp"

namespace hush::auth {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The throttle's keys kept in memory (each of its two tables), as its default.
constexpr std::size_t throttle_max_entries = 100'000;

// Longer credentials are refused before they are decoded or hashed.
constexpr std::size_t max_authorization_size = 4096;

// Keeps the name tried, which the caller set before it knew the outcome.
std::optional<member> fail(auth_failure& failure, errc why, std::chrono::seconds retry_after = {}) {
  failure.error = make_error_code(why);
  failure.retry_after = retry_after;
  failure.pending = {};
  return std::nullopt;
}

// The store failed (the shared throttle's count, a lookup): the request cannot be decided now.
std::optional<member> fail_storage(auth_failure& failure, std::error_code error) {
  failure.error = error;
  failure.retry_after = {};
  failure.pending = {};
  return std::nullopt;
}

}  // namespace

std::optional<basic_credentials> parse_basic(std::string_view authorization) {
  if (authorization.size() > max_authorization_size) {
    return std::nullopt;
  }
  const auto space = authorization.find(' ');
  if (space == std::string_view::npos || !iequals(authorization.substr(0, space), "basic")) {
    return std::nullopt;
  }
  auto encoded = authorization.substr(space + 1);
  while (!encoded.empty() && encoded.front() == ' ') {
    encoded.remove_prefix(1);
  }
  while (!encoded.empty() && encoded.back() == ' ') {
    encoded.remove_suffix(1);
  }
  const auto decoded = crypto::base64_decode(encoded);
  if (!decoded || decoded->empty()) {
    return std::nullopt;
  }
  const auto text = decoded->view();
  const auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return std::nullopt;
  }
  return basic_credentials{std::string(text.substr(0, colon)),
                           secret_string(std::string(text.substr(colon + 1)))};
}

authenticator::authenticator(club::club& members, const crypto::password_hasher& hasher,
                             throttle_policy policy, std::chrono::seconds cache_lifetime,
                             rate_policy rates, failure_ledger* ledger)
    : members_(members),
      hasher_(hasher),
      throttle_(policy, throttle_max_entries, ledger),
      cache_(cache_lifetime),
      member_requests_(rates.member_requests_per_second, rates.member_request_burst),
      misses_(rates.misses_per_second, rates.miss_burst) {}

std::optional<member> authenticator::miss(std::string_view remote, auth_failure& failure) {
  if (const auto wait = misses_.take(address_key(remote), now_())) {
    return fail(failure, errc::throttled, *wait);
  }
  return fail(failure, errc::unauthorized);
}

std::optional<member> authenticator::authenticate_from(const club::read_view& view,
                                                       std::string_view authorization,
                                                       std::string_view remote) {
  if (const auto token = parse_bearer(authorization)) {
    const auto* record = members_.member_by_token(view, *token);
    if (record == nullptr) {
      return std::nullopt;
    }
    return member(record->name, record->member_role);
  }
  auto credentials = parse_basic(authorization);
  if (!credentials || !club::valid_member_name(credentials->user)) {
    return std::nullopt;
  }
  // In authenticate_password's order: the throttle before the cache.
  const auto now = now_();
  if (throttle_.blocked(credentials->user, remote, now)) {
    return std::nullopt;
  }
  const auto* record = view.find_member(credentials->user);
  if (record == nullptr) {
    return std::nullopt;
  }
  const auto verified_hash = cache_.find(credentials->user, credentials->password.view(), now);
  if (!verified_hash || *verified_hash != record->password_hash) {
    return std::nullopt;
  }
  return member(record->name, record->member_role, record->password_hash);
}

std::optional<std::chrono::seconds> authenticator::over_request_rate(const member& who) {
  return member_requests_.take(who.name(), now_());
}

std::optional<member> authenticator::authenticate(std::string_view authorization,
                                                  std::string_view remote, hashing mode,
                                                  auth_failure& failure) {
  if (const auto token = parse_bearer(authorization)) {
    return authenticate_token(*token, remote, failure);
  }
  return authenticate_basic(authorization, remote, mode, failure);
}

std::optional<member> authenticator::authenticate_token(std::string_view token,
                                                        std::string_view remote,
                                                        auth_failure& failure) {
  auto record = members_.member_by_token(token);
  if (!record) {
    if (record.error() != errc::not_found) {
      failure = {record.error(), {}, {}};
      return std::nullopt;
    }
    return miss(remote, failure);
  }
  return member(std::move(record->name), record->member_role);
}

std::optional<member> authenticator::authenticate_session(std::string_view token,
                                                          std::string_view remote,
                                                          store::session_limits limits,
                                                          auth_failure& failure) {
  auto record = members_.member_by_session(token, limits);
  if (!record) {
    if (record.error() == errc::not_found) {
      return miss(remote, failure);
    }
    failure = {record.error(), {}, {}};
    return std::nullopt;
  }
  return member(std::move(record->name), record->member_role);
}

std::optional<member> authenticator::authenticate_certificate(std::string_view serial,
                                                              std::string_view common_name,
                                                              auth_failure& failure) {
  failure.tried = std::string(common_name);
  auto record = members_.member_by_certificate(serial, common_name);
  if (!record) {
    if (record.error() == errc::not_found) {
      return fail(failure, errc::unauthorized);
    }
    failure = {record.error(), {}, {}};
    return std::nullopt;
  }
  return member(std::move(record->name), record->member_role);
}

std::optional<member> authenticator::authenticate_basic(std::string_view authorization,
                                                        std::string_view remote, hashing mode,
                                                        auth_failure& failure) {
  auto credentials = parse_basic(authorization);
  if (!credentials) {
    return fail(failure, errc::unauthorized);
  }
  return authenticate_password(credentials->user, credentials->password.view(), remote, mode,
                               failure);
}

std::optional<member> authenticator::authenticate_password(std::string_view name,
                                                           std::string_view password,
                                                           std::string_view remote, hashing mode,
                                                           auth_failure& failure) {
  failure.tried.clear();
  // A name no member can have is refused before it becomes a throttle key or costs a hash: the
  // rule is public, so refusing it early tells nothing.
  if (!club::valid_member_name(name)) {
    return miss(remote, failure);
  }
  const auto now = now_();
  // With a shared ledger, before the cache: a guesser that spread its guesses over the other
  // servers must not learn here that one of them is right.
  const auto wait = throttle_.blocked_everywhere(name, remote, now);
  if (!wait) {
    return fail_storage(failure, wait.error());
  }
  if (*wait) {
    return fail(failure, errc::throttled, **wait);
  }

  auto record = members_.find_member(name);
  if (!record && record.error() != errc::not_found) {
    failure = {record.error(), {}, {}};
    return std::nullopt;
  }
  // The security log names the member a failure was for, but only a member: a name that is none
  // may be what a user typed by mistake into the name field (a password, a token).
  if (record) {
    failure.tried = record->name;
  }
  // A cached verification counts only against the hash it was made with: a password change or a
  // removal since then makes it a miss at once.
  if (record) {
    if (const auto verified_hash = cache_.find(name, password, now);
        verified_hash && *verified_hash == record->password_hash) {
      return member(std::move(record->name), record->member_role, std::move(record->password_hash));
    }
  }
  if (mode == hashing::deferred) {
    failure = {make_error_code(errc::needs_hashing),
               {},
               std::shared_ptr<pending_password>(new pending_password(
                   std::string(name), password, std::string(remote),
                   record ? std::optional(std::move(*record)) : std::nullopt))};
    return std::nullopt;
  }
  return verify(name, password, remote, record ? &*record : nullptr, failure);
}

std::optional<member> authenticator::finish(const pending_password& pending,
                                            auth_failure& failure) {
  failure.tried = pending.record_ ? pending.name_ : std::string();
  return verify(pending.name_, pending.password_.view(), pending.remote_,
                pending.record_ ? &*pending.record_ : nullptr, failure);
}

std::optional<member> authenticator::verify(std::string_view name, std::string_view password,
                                            std::string_view remote,
                                            const store::member_record* record,
                                            auth_failure& failure) {
  // Counted as a failure before the hash, not only asked: a burst of guesses that all passed the
  // first pass before any of them was hashed (on this server or on several) stops at the
  // throttle's count. A count the shared ledger cannot take is a storage error, as the store
  // being out of reach makes every other check one.
  const auto wait = throttle_.count_attempt(name, remote, now_());
  if (!wait) {
    return fail_storage(failure, wait.error());
  }
  if (*wait) {
    return fail(failure, errc::throttled, **wait);
  }
  const bool ok = record != nullptr ? hasher_.verify(record->password_hash, password)
                                    : hasher_.verify_nobody(password);
  if (!ok || record == nullptr) {
    return fail(failure, errc::unauthorized);
  }

  // The hash was read before the Argon2id run, which may have waited in the hashing queue: a
  // password changed or a member removed (or removed and added again) meanwhile must not let the
  // old password in. One indexed read, against a hash's hundred milliseconds.
  auto current = members_.find_member(record->name);
  if (!current) {
    if (current.error() == errc::not_found) {
      return fail(failure, errc::unauthorized);
    }
    failure = {current.error(), {}, {}};
    return std::nullopt;
  }
  if (current->password_hash != record->password_hash) {
    return fail(failure, errc::unauthorized);
  }
  // Only a password that is the member's now takes its failure back.
  if (auto forgotten = throttle_.record_success(name, remote); !forgotten) {
    return fail_storage(failure, forgotten.error());
  }

  std::string current_hash = current->password_hash;
  if (hasher_.needs_rehash(current->password_hash)) {
    // Compare-and-swap, so a password changed meanwhile is never overwritten with the old one.
    if (auto fresh = hasher_.hash(password); fresh) {
      if (members_.upgrade_password_hash(current->name, current->password_hash, *fresh)) {
        current_hash = std::move(*fresh);
      } else {
        log::info("password rehash skipped for a member whose hash changed meanwhile");
      }
    }
  }
  cache_.insert(name, password, current_hash, now_());
  return member(std::move(current->name), current->member_role, std::move(current_hash));
}

}  // namespace hush::auth

#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "auth/credential_cache.hpp"
#include "auth/rate_limit.hpp"
#include "auth/throttle.hpp"
#include "club/club.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/secret.hpp"
#include "crypto/password.hpp"

namespace hush::auth {

// An authenticated member. Only the authenticator can make one, so a handler that holds a member
// knows that the request proved who it is.
class member {
 public:
  const std::string& name() const noexcept { return name_; }
  store::role role() const noexcept { return role_; }
  // The member's password hash (PHC string) that a password of this request was verified
  // against, for the writes that must hold only while it is still theirs (a session, a password
  // change); empty when no password was proved (a token, a session, a certificate). Never log it.
  const std::string& verified_hash() const noexcept { return verified_hash_; }

 private:
  member(std::string name, store::role r, std::string verified_hash = {})
      : name_(std::move(name)), role_(r), verified_hash_(std::move(verified_hash)) {}
  friend class authenticator;

  std::string name_;
  store::role role_;
  std::string verified_hash_;
};

struct basic_credentials {
  std::string user;
  secret_string password;
};

// Parses an Authorization header value of the Basic scheme (RFC 7617); nullopt if it is not one
// or is malformed. The scheme name is case-insensitive.
std::optional<basic_credentials> parse_basic(std::string_view authorization);

// Whether this call may run Argon2id. The server first tries every request with `deferred` on its
// general workers; only requests that really need a hash go to the bounded hashing pool.
enum class hashing { allowed, deferred };

// A password whose check needs an Argon2id run, as the cheap first pass left it: the throttle
// was asked, the member (if any) looked up, the verified-credential cache missed. It is carried to
// the hashing pool, where authenticator::finish runs the hash and nothing is looked up again.
// Holds a copy of the password (zeroed when freed). Only the authenticator makes or reads one.
class pending_password {
 private:
  friend class authenticator;
  pending_password(std::string name, std::string_view password, std::string remote,
                   std::optional<store::member_record> record)
      : name_(std::move(name)),
        password_(std::string(password)),
        remote_(std::move(remote)),
        record_(std::move(record)) {}

  std::string name_;
  secret_string password_;
  std::string remote_;
  std::optional<store::member_record> record_;  // nullopt: no such member (a dummy hash runs)
};

// Why an authentication failed, and for `throttled`, how long to wait; for needs_hashing, the
// verification to finish on the hashing pool.
struct auth_failure {
  std::error_code error;  // unauthorized, throttled, needs_hashing, or a storage error
  std::chrono::seconds retry_after{0};
  std::shared_ptr<pending_password> pending;  // set with needs_hashing
  // The member the credential offered a password for, for the security log; empty when it names
  // no member (a token, a cookie, or a name no member has: that may be a password typed into the
  // name field, and is never logged).
  std::string tried{};
};

// Cheap limits that need no password hash: requests per member, and per client address the
// failed lookups of credentials that cannot be guessed (256-bit tokens and session cookies) or
// that cannot name a member. A rate of 0 turns a limit off.
struct rate_policy {
  double member_requests_per_second = 0;
  double member_request_burst = 1;
  double misses_per_second = 1;
  double miss_burst = 20;
};

// Checks credentials against the club (club::club's lookups). The order is the security argument:
// the throttle first (no hash, no cache lookup for a blocked key), then the verified-credential
// cache, then Argon2id. With a failure_ledger (several servers on one store), the throttle's
// counts are shared through it. Every failure to prove a password is the same `unauthorized` and
// costs the same Argon2id run whether the member is unknown or the password wrong. Thread safe;
// blocks on disk (and, with hashing::allowed, on Argon2id), so call it off the I/O threads.
class authenticator {
 public:
  using clock = std::chrono::steady_clock;

  authenticator(club::club& members, const crypto::password_hasher& hasher,
                throttle_policy policy = {}, std::chrono::seconds cache_lifetime = {},
                rate_policy rates = {}, failure_ledger* ledger = nullptr);

  // Either scheme: "Basic" (a name and password) or "Bearer" (an API token).
  std::optional<member> authenticate(std::string_view authorization, std::string_view remote,
                                     hashing mode, auth_failure& failure);

  // The outcome; on failure, `failure` says why.
  std::optional<member> authenticate_basic(std::string_view authorization, std::string_view remote,
                                           hashing mode, auth_failure& failure);
  std::optional<member> authenticate_password(std::string_view name, std::string_view password,
                                              std::string_view remote, hashing mode,
                                              auth_failure& failure);
  // No hash to run: a token is looked up by its hash. A valid token is never refused for anyone
  // else's failures: there is no throttle before the lookup. Failed lookups count against a cheap
  // per-address rate, past which they are answered `throttled` instead of `unauthorized`.
  std::optional<member> authenticate_token(std::string_view token, std::string_view remote,
                                           auth_failure& failure);

  // A browser session, by the token in its cookie. Like a token: looked up by its hash, and
  // failed lookups count against the per-address rate. `expired` (not counted) when it ran out.
  std::optional<member> authenticate_session(std::string_view token, std::string_view remote,
                                             store::session_limits limits, auth_failure& failure);

  // A client certificate that the TLS handshake verified (club CA, CRL, expiry, clientAuth).
  // The store has the last word, so a revocation or a removal counts at once, before the CRL file
  // is rewritten or reloaded: the serial must be one the CA recorded for this very member, not
  // revoked, not expired, and the member must still exist. Nothing to guess, so no throttle.
  std::optional<member> authenticate_certificate(std::string_view serial,
                                                 std::string_view common_name,
                                                 auth_failure& failure);

  // Runs the Argon2id check that a deferred attempt left pending (on the hashing pool), with what
  // the first pass found: no second lookup before the hash. The throttle counts the attempt before
  // the hash (guesses queued together stop at its count), and after a successful hash the member is
  // read again: a password changed or a member removed while the attempt waited is `unauthorized`,
  // and the member's role is the current one.
  std::optional<member> finish(const pending_password& pending, auth_failure& failure);

  // The member `authorization` proves from `view` and memory alone, for the server's I/O threads
  // (nothing here blocks or touches the store): a Bearer token the view holds, not run out, or a
  // Basic login the verified-credential cache holds for the view's password hash of that member,
  // whose name and address the throttle does not block (in memory: a block the shared ledger
  // holds counts here once a password check on this server has seen it). nullopt for anything else,
  // refusals included: the caller then takes the full path (authenticate), which gives every
  // refusal and every log line. A read answered for this member must be audited as of the view
  // (club::read_newest(view, ...)), so that a view a change overtook never answers.
  std::optional<member> authenticate_from(const club::read_view& view,
                                          std::string_view authorization, std::string_view remote);

  // Takes one request from the member's allowance; how long to wait when it is spent.
  std::optional<std::chrono::seconds> over_request_rate(const member& who);

  // For tests: the monotonic clock the throttle and the cache read.
  void set_clock(std::function<clock::time_point()> now) { now_ = std::move(now); }

 private:
  club::club& members_;
  const crypto::password_hasher& hasher_;
  std::optional<member> miss(std::string_view remote, auth_failure& failure);
  // The Argon2id check of `password` against `record`'s hash (a dummy hash for no member), the
  // throttle's count, the rehash and the cache.
  std::optional<member> verify(std::string_view name, std::string_view password,
                               std::string_view remote, const store::member_record* record,
                               auth_failure& failure);

  throttle throttle_;
  credential_cache cache_;
  rate_limiter member_requests_;
  rate_limiter misses_;
  std::function<clock::time_point()> now_ = [] { return clock::now(); };
};

}  // namespace hush::auth

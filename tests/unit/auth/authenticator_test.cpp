#include "auth/authenticator.hpp"

#include <map>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "crypto/encoding.hpp"
#include "support/http_helpers.hpp"
#include "support/test_club.hpp"

namespace hush::auth {
namespace {

using testing::basic;

TEST(ParseBasic, ValidForms) {
  const auto c = parse_basic(basic("alice:pass:with:colons"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "alice");
  EXPECT_EQ(c->password.view(), "pass:with:colons");
  EXPECT_TRUE(parse_basic("bAsIc " + basic("a:b").substr(6)));
  EXPECT_EQ(parse_basic(basic("a:"))->password.view(), "");
}

TEST(ParseBasic, Malformed) {
  EXPECT_FALSE(parse_basic(""));
  EXPECT_FALSE(parse_basic("Basic"));
  EXPECT_FALSE(parse_basic("Basic "));
  EXPECT_FALSE(parse_basic("Bearer abc"));
  EXPECT_FALSE(parse_basic("Basic !!!"));
  EXPECT_FALSE(parse_basic(basic("no-colon")));
  EXPECT_FALSE(parse_basic(basic(":password-without-user")));
  EXPECT_FALSE(parse_basic("Basic " + std::string(5000, 'A')));
}

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    club.add("alice", store::role::poster, "alice's long password");
    club.auth.set_clock([this] { return now; });
  }

  std::optional<member> login(authenticator& a, std::string_view name, std::string_view password,
                              std::string_view remote = "192.0.2.1",
                              hashing mode = hashing::allowed) {
    last_failure = {};
    return a.authenticate_password(name, password, remote, mode, last_failure);
  }
  std::optional<member> login(std::string_view name, std::string_view password,
                              std::string_view remote = "192.0.2.1",
                              hashing mode = hashing::allowed) {
    return login(club.auth, name, password, remote, mode);
  }

  testing::test_club club;
  authenticator::clock::time_point now{std::chrono::hours(1)};
  auth_failure last_failure;
};

TEST_F(AuthenticatorTest, ImpossibleNamesAreRefusedBeforeTheThrottleAndTheHash) {
  // A name no member can have never becomes a throttle key and never costs an Argon2id run, even
  // when the caller may hash (deferred mode would ask for one).
  for (const std::string& name : {std::string("two words"), std::string(5000, 'a'),
                                  std::string("tab\tname"), std::string("\xc2\x9b")}) {
    EXPECT_FALSE(login(name, "some password", "192.0.2.9", hashing::deferred));
    EXPECT_EQ(last_failure.error, errc::unauthorized) << name.size();
  }
  // They do not count as guesses against the address: a member there logs in at once.
  for (int i = 0; i < 15; ++i) {
    login("no such name!", "x", "192.0.2.9", hashing::allowed);
  }
  EXPECT_TRUE(login("alice", "alice's long password", "192.0.2.9"));
}

TEST_F(AuthenticatorTest, RightPasswordGivesTheMember) {
  const auto m = club.auth.authenticate_basic(basic("alice:alice's long password"), "192.0.2.1",
                                              hashing::allowed, last_failure);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->name(), "alice");
  EXPECT_EQ(m->role(), store::role::poster);
}

TEST_F(AuthenticatorTest, EveryFailureIsTheSameUnauthorized) {
  for (const auto& header : {basic("alice:wrong password"), basic("mallory:alice's long password"),
                             std::string("Basic ???"), std::string("")}) {
    const auto m =
        club.auth.authenticate_basic(header, "192.0.2.1", hashing::allowed, last_failure);
    ASSERT_FALSE(m) << header;
    EXPECT_EQ(last_failure.error, errc::unauthorized) << header;
  }
}

TEST_F(AuthenticatorTest, RemovalAndPasswordChangeApplyAtOnce) {
  ASSERT_TRUE(login("alice", "alice's long password"));  // now cached
  ASSERT_TRUE(club.domain.set_password("alice", "a brand new password"));
  EXPECT_FALSE(login("alice", "alice's long password"));
  EXPECT_TRUE(login("alice", "a brand new password", "192.0.2.2"));
  ASSERT_TRUE(club.store.remove_member("alice", club.clock.now));
  EXPECT_FALSE(login("alice", "a brand new password", "192.0.2.2"));
  EXPECT_EQ(last_failure.error, errc::unauthorized);
}

TEST_F(AuthenticatorTest, RehashesOnLoginWhenCostChanges) {
  const crypto::password_hasher stronger({2, crypto::argon2_min_memory_kib});
  authenticator upgraded(club.domain, stronger);
  const auto before = club.store.find_member("alice").value().password_hash;
  ASSERT_TRUE(login(upgraded, "alice", "alice's long password"));
  const auto after = club.store.find_member("alice").value().password_hash;
  EXPECT_NE(before, after);
  EXPECT_NE(after.find("t=2"), std::string::npos) << after;
  EXPECT_FALSE(stronger.needs_rehash(after));
  EXPECT_TRUE(login(upgraded, "alice", "alice's long password"));
}

TEST_F(AuthenticatorTest, DeferredModeNeverHashesButUsesTheCache) {
  EXPECT_FALSE(login("alice", "alice's long password", "192.0.2.1", hashing::deferred));
  EXPECT_EQ(last_failure.error, errc::needs_hashing);
  EXPECT_FALSE(login("mallory", "whatever", "192.0.2.1", hashing::deferred));
  EXPECT_EQ(last_failure.error, errc::needs_hashing);
  ASSERT_TRUE(login("alice", "alice's long password"));
  // Verified once: now served without a hash.
  EXPECT_TRUE(login("alice", "alice's long password", "192.0.2.1", hashing::deferred));
  // A wrong password is never a cache hit.
  EXPECT_FALSE(login("alice", "alice's long passwore", "192.0.2.1", hashing::deferred));
  EXPECT_EQ(last_failure.error, errc::needs_hashing);
}

TEST_F(AuthenticatorTest, GuessesQueuedTogetherStopAtTheThrottleWhenHashed) {
  // Ten guesses pass the first, cheap check before any of them is hashed (as when one address
  // sends them on parallel connections); the hashing pool must still stop at the throttle.
  std::vector<std::shared_ptr<pending_password>> queued;
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(login("alice", "guess " + std::to_string(i), "192.0.2.1", hashing::deferred));
    ASSERT_EQ(last_failure.error, errc::needs_hashing);
    queued.push_back(last_failure.pending);
  }
  int hashed = 0;
  int throttled = 0;
  for (const auto& pending : queued) {
    auth_failure failure;
    EXPECT_FALSE(club.auth.finish(*pending, failure));
    hashed += failure.error == errc::unauthorized ? 1 : 0;
    throttled += failure.error == errc::throttled ? 1 : 0;
  }
  EXPECT_EQ(hashed, 4);  // the free failures, and the one that starts the delay
  EXPECT_EQ(throttled, 6);
}

TEST_F(AuthenticatorTest, APasswordChangedWhileTheHashWaitedDoesNotLetTheOldOneIn) {
  EXPECT_FALSE(login("alice", "alice's long password", "192.0.2.1", hashing::deferred));
  ASSERT_EQ(last_failure.error, errc::needs_hashing);
  const auto pending = last_failure.pending;
  ASSERT_TRUE(club.domain.set_password("alice", "alice's new long password"));
  auth_failure failure;
  EXPECT_FALSE(club.auth.finish(*pending, failure));
  EXPECT_EQ(failure.error, errc::unauthorized);
  // Nor is the old password cached: the next attempt hashes again, and fails.
  EXPECT_FALSE(login("alice", "alice's long password", "192.0.2.1", hashing::deferred));
  EXPECT_EQ(last_failure.error, errc::needs_hashing);
  EXPECT_TRUE(login("alice", "alice's new long password"));
}

TEST_F(AuthenticatorTest, AMemberRemovedOrReaddedWhileTheHashWaitedIsRefused) {
  club.add("root", store::role::admin, "the admin's long password");
  EXPECT_FALSE(login("alice", "alice's long password", "192.0.2.1", hashing::deferred));
  const auto removed = last_failure.pending;
  ASSERT_TRUE(club.domain.remove_member("alice"));
  auth_failure failure;
  EXPECT_FALSE(club.auth.finish(*removed, failure));
  EXPECT_EQ(failure.error, errc::unauthorized);
  // Added again under the same name and password (a new hash, a new role): a fresh attempt
  // gets the new record's role.
  club.add("alice", store::role::reader, "alice's long password");
  EXPECT_FALSE(login("alice", "alice's long password", "192.0.2.2", hashing::deferred));
  const auto fresh = last_failure.pending;
  ASSERT_TRUE(fresh);
  const auto who = club.auth.finish(*fresh, failure);
  ASSERT_TRUE(who);
  EXPECT_EQ(who->role(), store::role::reader);
}

TEST_F(AuthenticatorTest, CachedCredentialExpires) {
  authenticator cached(club.domain, club.hasher, {}, std::chrono::seconds(60));
  cached.set_clock([this] { return now; });
  ASSERT_TRUE(login(cached, "alice", "alice's long password"));
  now += std::chrono::seconds(59);
  EXPECT_TRUE(login(cached, "alice", "alice's long password", "192.0.2.1", hashing::deferred));
  now += std::chrono::seconds(2);
  EXPECT_FALSE(login(cached, "alice", "alice's long password", "192.0.2.1", hashing::deferred));
  EXPECT_EQ(last_failure.error, errc::needs_hashing);
}

TEST_F(AuthenticatorTest, ThrottleBlocksBeforeHashingEvenTheRightPassword) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(login("alice", "guess " + std::to_string(i)));
    EXPECT_EQ(last_failure.error, errc::unauthorized);
  }
  EXPECT_FALSE(login("alice", "guess 4"));  // the fourth failure starts the delay
  EXPECT_FALSE(login("alice", "alice's long password"));
  EXPECT_EQ(last_failure.error, errc::throttled);
  EXPECT_EQ(last_failure.retry_after, std::chrono::seconds(2));
  // In deferred mode too: a blocked key never reaches the cache or the pool.
  EXPECT_FALSE(login("alice", "alice's long password", "192.0.2.1", hashing::deferred));
  EXPECT_EQ(last_failure.error, errc::throttled);
  // The member is not locked out: another address gets in.
  EXPECT_TRUE(login("alice", "alice's long password", "198.51.100.7"));
  // And the blocked address is free again once the delay has passed.
  now += std::chrono::seconds(2);
  EXPECT_TRUE(login("alice", "alice's long password"));
}

TEST_F(AuthenticatorTest, UnknownNamesAreThrottledLikeKnownOnes) {
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(login("mallory", "guess"));
  }
  EXPECT_FALSE(login("mallory", "guess"));
  EXPECT_EQ(last_failure.error, errc::throttled);
}

// From a view and memory alone: a token the view holds, or a Basic login the cache holds for the
// view's hash; anything else is left to the full path (nullopt), never refused here.
TEST_F(AuthenticatorTest, FromAViewOnlyWhatMemoryProves) {
  const auto token = club.domain.create_token("laptop", "alice", 0).value();
  const auto bearer = "Bearer " + std::string(token.value.view());
  const auto alice = testing::basic("alice:alice's long password");
  auto view = club.domain.load_view().value();

  const auto by_token = club.auth.authenticate_from(*view, bearer, "192.0.2.1");
  ASSERT_TRUE(by_token);
  EXPECT_EQ(by_token->name(), "alice");
  EXPECT_EQ(by_token->role(), store::role::poster);
  EXPECT_FALSE(club.auth.authenticate_from(*view, "Bearer nothing-like-it", "192.0.2.1"));
  // Basic: not before the password was verified once (Argon2id is never run here).
  EXPECT_FALSE(club.auth.authenticate_from(*view, alice, "192.0.2.1"));
  ASSERT_TRUE(login("alice", "alice's long password"));
  const auto by_password = club.auth.authenticate_from(*view, alice, "192.0.2.1");
  ASSERT_TRUE(by_password);
  EXPECT_EQ(by_password->name(), "alice");
  EXPECT_FALSE(club.auth.authenticate_from(*view, testing::basic("alice:alice's wrong password"),
                                           "192.0.2.1"));
  EXPECT_FALSE(club.auth.authenticate_from(*view, testing::basic("bob:bob's password"), "r"));
  EXPECT_FALSE(club.auth.authenticate_from(*view, "Digest whatever", "192.0.2.1"));

  // A password changed since: the cache's hash is not the new view's, so memory proves nothing.
  ASSERT_TRUE(club.domain.set_password("alice", "alice's new long password"));
  view = club.domain.load_view().value();
  EXPECT_FALSE(club.auth.authenticate_from(*view, alice, "192.0.2.1"));
  ASSERT_TRUE(club.domain.revoke_token("laptop"));
  view = club.domain.load_view().value();
  EXPECT_FALSE(club.auth.authenticate_from(*view, bearer, "192.0.2.1"));
}

TEST_F(AuthenticatorTest, FromAViewTheThrottleStillComesFirst) {
  ASSERT_TRUE(login("alice", "alice's long password"));
  const auto view = club.domain.load_view().value();
  const auto alice = testing::basic("alice:alice's long password");
  ASSERT_TRUE(club.auth.authenticate_from(*view, alice, "192.0.2.1"));
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(login("alice", "guess " + std::to_string(i)));
  }
  EXPECT_FALSE(club.auth.authenticate_from(*view, alice, "192.0.2.1"));
  EXPECT_TRUE(club.auth.authenticate_from(*view, alice, "198.51.100.7"));
}

// A failure ledger in memory, on a clock the test moves, as a store that several servers share
// keeps it: each key's count and the time of its last failure.
class memory_ledger final : public failure_ledger {
 public:
  explicit memory_ledger(const throttle::clock::time_point& now) : now_(now) {}

  result<counts> failures(const std::string& member_key, const std::string& address_key) override {
    if (broken) {
      return make_error_code(errc::storage_unavailable);
    }
    return counts{seen_of(member_key), seen_of(address_key)};
  }
  result<counts> add_failure(const std::string& member_key, const std::string& address_key,
                             std::chrono::seconds afresh) override {
    if (broken) {
      return make_error_code(errc::storage_unavailable);
    }
    counts added;
    std::size_t i = 0;
    for (const auto* key : {&member_key, &address_key}) {
      auto& e = keys_[*key];
      const auto previous = e.last;
      e.failures = (e.failures > 0 && now_ - e.last > afresh) ? 1 : e.failures + 1;
      e.last = now_;
      added[i++] = {e.failures, std::chrono::duration_cast<std::chrono::seconds>(now_ - previous)};
    }
    return added;
  }
  result<void> forgive(const std::string& member_key, const std::string& address_key) override {
    if (broken) {
      return make_error_code(errc::storage_unavailable);
    }
    keys_.erase(member_key);
    if (auto found = keys_.find(address_key); found != keys_.end() && found->second.failures > 0) {
      --found->second.failures;
    }
    return {};
  }

  bool broken = false;

 private:
  struct entry {
    unsigned failures = 0;
    throttle::clock::time_point last{};
  };
  seen seen_of(const std::string& key) const {
    const auto found = keys_.find(key);
    if (found == keys_.end()) {
      return {};
    }
    return {found->second.failures,
            std::chrono::duration_cast<std::chrono::seconds>(now_ - found->second.last)};
  }

  const throttle::clock::time_point& now_;
  std::map<std::string, entry> keys_;
};

TEST(SharedThrottle, GuessesOnTwoServersCountAsOne) {
  const throttle_policy policy{3, 1000, std::chrono::seconds(2), std::chrono::seconds(60)};
  throttle::clock::time_point now{std::chrono::hours(1)};
  memory_ledger ledger(now);
  throttle first(policy, 1000, &ledger);
  throttle second(policy, 1000, &ledger);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(first.count_attempt("alice", "192.0.2.1", now));
    ASSERT_TRUE(second.count_attempt("alice", "192.0.2.1", now));
  }
  // Four failures in all, two on each: the shared count blocks, on both servers.
  EXPECT_EQ(first.blocked_everywhere("alice", "192.0.2.1", now).value(), std::chrono::seconds(2));
  EXPECT_EQ(second.blocked_everywhere("alice", "192.0.2.1", now).value(), std::chrono::seconds(2));
  // Learned, so memory alone (the I/O threads' check) blocks from now on, for what is left.
  now += std::chrono::seconds(1);
  EXPECT_EQ(first.blocked("alice", "192.0.2.1", now), std::chrono::seconds(1));
  // The member from another address is not blocked anywhere.
  EXPECT_FALSE(first.blocked_everywhere("alice", "198.51.100.7", now).value());

  // Control: the same guesses on two servers without a ledger are two allowances.
  throttle alone_a(policy);
  throttle alone_b(policy);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(alone_a.count_attempt("alice", "192.0.2.1", now));
    ASSERT_TRUE(alone_b.count_attempt("alice", "192.0.2.1", now));
  }
  EXPECT_FALSE(alone_a.blocked_everywhere("alice", "192.0.2.1", now).value());
}

// Servers that count at the same moment: each passed its own memory's check, and the ledger's
// one counting step tells the one that came in over the count.
TEST(SharedThrottle, AttemptsThatRaceOnServersStopAtTheSharedCount) {
  const throttle_policy policy{3, 1000, std::chrono::seconds(2), std::chrono::seconds(60)};
  throttle::clock::time_point now{std::chrono::hours(1)};
  memory_ledger ledger(now);
  throttle first(policy, 1000, &ledger);
  throttle second(policy, 1000, &ledger);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(first.count_attempt("alice", "192.0.2.1", now).value());
  }
  // The fourth failure is the last one let through (three free, then the block starts).
  EXPECT_FALSE(second.count_attempt("alice", "192.0.2.1", now).value());
  // `first` has seen three, so its memory lets a fifth through; the ledger does not.
  EXPECT_EQ(first.count_attempt("alice", "192.0.2.1", now).value(), std::chrono::seconds(2));
  // And `second` learned the block as it counted: refused from memory, without the ledger.
  ledger.broken = true;
  EXPECT_EQ(second.count_attempt("alice", "192.0.2.1", now).value(), std::chrono::seconds(2));
  EXPECT_TRUE(second.blocked("alice", "192.0.2.1", now));
}

TEST(SharedThrottle, QuietCountsStartAfreshAndSuccessForgetsEverywhere) {
  const throttle_policy policy{1, 1000, std::chrono::seconds(5), std::chrono::seconds(30)};
  throttle::clock::time_point now{std::chrono::hours(1)};
  memory_ledger ledger(now);
  throttle first(policy, 1000, &ledger);
  throttle second(policy, 1000, &ledger);
  ASSERT_TRUE(first.count_attempt("a", "192.0.2.1", now));
  ASSERT_TRUE(second.count_attempt("a", "192.0.2.1", now));
  EXPECT_TRUE(first.blocked_everywhere("a", "192.0.2.1", now).value());
  // Past the longest delay the shared count is as good as none.
  now += std::chrono::seconds(31);
  EXPECT_FALSE(second.blocked_everywhere("a", "192.0.2.1", now).value());
  ASSERT_TRUE(second.count_attempt("a", "192.0.2.1", now));  // the first again
  EXPECT_FALSE(first.blocked_everywhere("a", "192.0.2.1", now).value());
  // A success on one server forgets the member's shared count (each server's memory keeps what
  // it saw itself): one more failure elsewhere is the first again.
  ASSERT_TRUE(first.record_success("a", "192.0.2.1"));
  throttle third(policy, 1000, &ledger);
  ASSERT_TRUE(third.count_attempt("a", "192.0.2.1", now));
  EXPECT_FALSE(third.blocked_everywhere("a", "192.0.2.1", now).value());
}

TEST_F(AuthenticatorTest, GuessesSpreadOverServersAreThrottledBeforeTheirCaches) {
  memory_ledger ledger(now);
  authenticator here(club.domain, club.hasher, {}, std::chrono::seconds(300), {}, &ledger);
  authenticator there(club.domain, club.hasher, {}, std::chrono::seconds(300), {}, &ledger);
  here.set_clock([this] { return now; });
  there.set_clock([this] { return now; });
  const auto alice = testing::basic("alice:alice's long password");
  ASSERT_TRUE(login(here, "alice", "alice's long password"));  // cached here
  const auto view = club.domain.load_view().value();
  for (int i = 0; i < 2; ++i) {
    EXPECT_FALSE(login(here, "alice", "guess " + std::to_string(i)));
  }
  for (int i = 0; i < 2; ++i) {
    EXPECT_FALSE(login(there, "alice", "guess " + std::to_string(i + 2)));
  }
  EXPECT_EQ(last_failure.error, errc::unauthorized);
  // Four wrong guesses in all (three are free). Here, memory has seen two: the I/O threads'
  // check still answers from the cache, until a password check here reaches the store...
  EXPECT_TRUE(here.authenticate_from(*view, alice, "192.0.2.1"));
  EXPECT_FALSE(login(here, "alice", "alice's long password", "192.0.2.1", hashing::deferred));
  EXPECT_EQ(last_failure.error, errc::throttled);
  // ...after which memory refuses too.
  EXPECT_FALSE(here.authenticate_from(*view, alice, "192.0.2.1"));
  // Once the delay has passed, the member gets in.
  now += std::chrono::seconds(2);
  EXPECT_TRUE(login(here, "alice", "alice's long password", "192.0.2.1", hashing::deferred));
}

// Each password check is counted before its hash; a right one takes its count back, from the
// address's count too: members logging in again and again from one address never block it.
TEST_F(AuthenticatorTest, RightPasswordsNeverAddUpToABlock) {
  memory_ledger ledger(now);
  authenticator uncached(club.domain, club.hasher, {}, std::chrono::seconds(0), {}, &ledger);
  uncached.set_clock([this] { return now; });
  for (int i = 0; i < 15; ++i) {
    EXPECT_TRUE(login(uncached, "alice", "alice's long password")) << i;
  }
  // And the address's real failures still count: nine wrong guesses for others, then the tenth
  // and eleventh; the eleventh starts the block for everyone there.
  for (int i = 0; i < 11; ++i) {
    EXPECT_FALSE(login(uncached, "nobody" + std::to_string(i), "guess"));
  }
  EXPECT_FALSE(login(uncached, "alice", "alice's long password"));
  EXPECT_EQ(last_failure.error, errc::throttled);
}

TEST_F(AuthenticatorTest, ALedgerOutOfReachRefusesWithItsError) {
  memory_ledger ledger(now);
  authenticator a(club.domain, club.hasher, {}, std::chrono::seconds(300), {}, &ledger);
  a.set_clock([this] { return now; });
  ledger.broken = true;
  // Never a success nor a plain refusal the throttle did not count: the store's error.
  EXPECT_FALSE(login(a, "alice", "alice's long password"));
  EXPECT_EQ(last_failure.error, errc::storage_unavailable);
  EXPECT_FALSE(login(a, "alice", "a wrong password", "192.0.2.1", hashing::deferred));
  EXPECT_EQ(last_failure.error, errc::storage_unavailable);
  ledger.broken = false;
  EXPECT_TRUE(login(a, "alice", "alice's long password"));
}

TEST(Throttle, DelayDoublesUpToTheCeiling) {
  throttle t({3, 1000, std::chrono::seconds(2), std::chrono::seconds(10)});
  throttle::clock::time_point now{std::chrono::hours(1)};
  for (int i = 0; i < 3; ++i) {
    t.count_attempt("alice", "192.0.2.1", now);
    EXPECT_FALSE(t.blocked("alice", "192.0.2.1", now));
  }
  const std::chrono::seconds expected[] = {std::chrono::seconds(2), std::chrono::seconds(4),
                                           std::chrono::seconds(8), std::chrono::seconds(10),
                                           std::chrono::seconds(10)};
  for (const auto delay : expected) {
    t.count_attempt("alice", "192.0.2.1", now);
    EXPECT_EQ(t.blocked("alice", "192.0.2.1", now), delay);
    now += delay;
    EXPECT_FALSE(t.blocked("alice", "192.0.2.1", now));
  }
}

TEST(Throttle, PerAddressCountCoversEveryName) {
  throttle t({1000, 5, std::chrono::seconds(3), std::chrono::seconds(60)});
  throttle::clock::time_point now{};
  for (int i = 0; i < 6; ++i) {
    t.count_attempt("name" + std::to_string(i), "192.0.2.9", now);
  }
  EXPECT_EQ(t.blocked("anyone", "192.0.2.9", now), std::chrono::seconds(3));
  EXPECT_FALSE(t.blocked("anyone", "192.0.2.10", now));
  // Success for one member (once the delay is over) takes off its own attempt only, not the
  // address's failures.
  now += std::chrono::seconds(3);
  ASSERT_FALSE(t.count_attempt("name0", "192.0.2.9", now).value());
  ASSERT_TRUE(t.record_success("name0", "192.0.2.9"));
  EXPECT_TRUE(t.blocked("anyone", "192.0.2.9", now));
}

TEST(Throttle, QuietKeysAreForgotten) {
  throttle t({1, 1000, std::chrono::seconds(1), std::chrono::seconds(30)});
  throttle::clock::time_point now{};
  t.count_attempt("a", "192.0.2.1", now);
  t.count_attempt("a", "192.0.2.1", now);
  EXPECT_TRUE(t.blocked("a", "192.0.2.1", now));
  now += std::chrono::seconds(31);
  t.count_attempt("a", "192.0.2.1", now);  // counts as the first failure again
  EXPECT_FALSE(t.blocked("a", "192.0.2.1", now));
}

TEST(Throttle, MemoryIsBounded) {
  throttle t({1, 1, std::chrono::seconds(1), std::chrono::seconds(30)}, 100);
  throttle::clock::time_point now{};
  for (int i = 0; i < 1000; ++i) {
    t.count_attempt("m", "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256), now);
  }
  // Nothing to assert about which keys survived, only that the process did not grow without end;
  // the latest key is always kept.
  t.count_attempt("m", "192.0.2.1", now);
  t.count_attempt("m", "192.0.2.1", now);
  EXPECT_TRUE(t.blocked("m", "192.0.2.1", now));
}

TEST(AddressKey, Ipv6IsGroupedBySlash64) {
  EXPECT_EQ(address_key("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(address_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(address_key("2001:db8:1:2:bbbb::9"), address_key("2001:db8:1:2:aaaa::1"));
  EXPECT_NE(address_key("2001:db8:1:3::1"), address_key("2001:db8:1:2::1"));
}

TEST(NetworkKey, Ipv4BySlash24AndIpv6BySlash56) {
  EXPECT_EQ(network_key("192.0.2.1"), "192.0.2.0/24");
  EXPECT_EQ(network_key("192.0.2.255"), network_key("192.0.2.1"));
  EXPECT_NE(network_key("192.0.3.1"), network_key("192.0.2.1"));
  EXPECT_EQ(network_key("2001:db8:1:2ff:aaaa::1"), "2001:db8:1:200::/56");
  // The 256 /64s of one /56 are one network.
  EXPECT_EQ(network_key("2001:db8:1:2ff::1"), network_key("2001:db8:1:200::9"));
  EXPECT_NE(network_key("2001:db8:1:300::1"), network_key("2001:db8:1:200::1"));
  EXPECT_EQ(network_key("not an address"), "not an address");
}

TEST(CredentialCache, KeyedOnNameAndPassword) {
  credential_cache cache(std::chrono::seconds(10));
  const credential_cache::clock::time_point now{};
  cache.insert("ab", "c", "hash1", now);
  EXPECT_EQ(cache.find("ab", "c", now), "hash1");
  EXPECT_FALSE(cache.find("a", "bc", now));
  EXPECT_FALSE(cache.find("ab", "C", now));
  EXPECT_FALSE(cache.find("ab", "c", now + std::chrono::seconds(10)));
}

TEST(CredentialCache, ZeroLifetimeDisables) {
  credential_cache cache(std::chrono::seconds(0));
  cache.insert("a", "b", "h", {});
  EXPECT_FALSE(cache.find("a", "b", {}));
}

}  // namespace
}  // namespace hush::auth

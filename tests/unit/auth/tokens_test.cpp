#include "auth/tokens.hpp"

#include <set>
#include <type_traits>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "crypto/random.hpp"
#include "support/test_club.hpp"

namespace hush::auth {
namespace {

TEST(Tokens, NewTokensAre43Base64UrlCharactersAndDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    const auto token = new_token().str();
    EXPECT_EQ(token.size(), 43U);
    EXPECT_EQ(parse_bearer("Bearer " + token), token);
    seen.insert(token);
  }
  EXPECT_EQ(seen.size(), 50U);
}

// Generated secrets leave their helpers in types that zero them when dropped.
static_assert(std::is_same_v<decltype(new_token()), secret_string>);
static_assert(std::is_same_v<decltype(crypto::random_password()), secret_string>);

TEST(Tokens, HashIsStableAndDistinct) {
  const auto a = new_token().str();
  EXPECT_EQ(token_hash(a), token_hash(a));
  EXPECT_NE(token_hash(a), token_hash(new_token().str()));
}

TEST(Tokens, ParseBearer) {
  const std::string token(43, 'A');
  EXPECT_EQ(parse_bearer("bearer " + token), token);
  EXPECT_EQ(parse_bearer("BEARER  " + token + " "), token);
  EXPECT_FALSE(parse_bearer("Basic " + token));
  EXPECT_FALSE(parse_bearer("Bearer " + std::string(42, 'A')));
  EXPECT_FALSE(parse_bearer("Bearer " + std::string(44, 'A')));
  EXPECT_FALSE(parse_bearer("Bearer " + std::string(42, 'A') + "="));
  EXPECT_FALSE(parse_bearer("Bearer"));
  EXPECT_FALSE(parse_bearer(""));
}

TEST(Tokens, ParseDuration) {
  EXPECT_EQ(parse_duration("30d"), 30 * 86400);
  EXPECT_EQ(parse_duration("12h"), 12 * 3600);
  EXPECT_EQ(parse_duration("90m"), 90 * 60);
  EXPECT_EQ(parse_duration("3600s"), 3600);
  for (const char* bad : {"", "d", "0d", "-1d", "5x", "1.5h", "99999d", "10 d"}) {
    EXPECT_FALSE(parse_duration(bad)) << bad;
  }
}

class TokenAuthTest : public ::testing::Test {
 protected:
  void SetUp() override { club.add("alice", store::role::poster, "alice's long password"); }

  void add_token(const std::string& name, const std::string& token, std::int64_t expires = 0) {
    ASSERT_TRUE(club.store.add_token({name, "alice", club.clock.now, expires}, token_hash(token)));
  }

  std::optional<member> bearer(const std::string& token, std::string_view remote = "192.0.2.1") {
    failure = {};
    return club.auth.authenticate("Bearer " + token, remote, hashing::deferred, failure);
  }

  testing::test_club club;
  auth_failure failure;
};

TEST_F(TokenAuthTest, TokenActsAsItsMemberWithoutHashing) {
  const auto token = new_token().str();
  add_token("ci", token);
  const auto m = bearer(token);
  ASSERT_TRUE(m) << failure.error.message();
  EXPECT_EQ(m->name(), "alice");
  EXPECT_EQ(m->role(), store::role::poster);
}

TEST_F(TokenAuthTest, UnknownRevokedExpiredAndOrphanedTokensFail) {
  EXPECT_FALSE(bearer(new_token().str()));
  EXPECT_EQ(failure.error, errc::unauthorized);

  const auto revoked = new_token().str();
  add_token("revoked", revoked);
  ASSERT_TRUE(club.store.remove_token("revoked"));
  EXPECT_FALSE(bearer(revoked, "192.0.2.2"));

  const auto expiring = new_token().str();
  add_token("expiring", expiring, club.clock.now + 10);
  EXPECT_TRUE(bearer(expiring, "192.0.2.3"));
  club.clock.now += 10;
  EXPECT_FALSE(bearer(expiring, "192.0.2.3"));

  const auto orphan = new_token().str();
  add_token("orphan", orphan);
  ASSERT_TRUE(club.store.remove_member("alice", club.clock.now));
  EXPECT_FALSE(bearer(orphan, "192.0.2.4"));
  EXPECT_TRUE(club.store.list_tokens().value().empty());
}

TEST_F(TokenAuthTest, TokenNamesAreUniqueAndNeedAMember) {
  add_token("ci", new_token().str());
  EXPECT_EQ(club.store.add_token({"ci", "alice", 0, 0}, token_hash(new_token().str())).error(),
            errc::already_exists);
  EXPECT_EQ(club.store.add_token({"other", "nobody", 0, 0}, token_hash(new_token().str())).error(),
            errc::not_found);
  const auto listed = club.store.list_tokens().value();
  ASSERT_EQ(listed.size(), 1U);
  EXPECT_EQ(listed[0].name, "ci");
  EXPECT_EQ(listed[0].member, "alice");
}

TEST_F(TokenAuthTest, GuessedTokensAreRateLimitedButNeverBlockAValidOne) {
  // Random tokens from one address (a NAT, an IPv6 /64) run out of the address's allowance of
  // misses and are answered 429; a valid token from the very same address is still served.
  const auth::rate_policy defaults;
  const auto allowance = static_cast<int>(defaults.miss_burst);
  for (int i = 0; i < allowance; ++i) {
    EXPECT_FALSE(bearer(new_token().str(), "203.0.113.5"));
    EXPECT_EQ(failure.error, errc::unauthorized) << i;
  }
  EXPECT_FALSE(bearer(new_token().str(), "203.0.113.5"));
  EXPECT_EQ(failure.error, errc::throttled);
  EXPECT_GE(failure.retry_after, std::chrono::seconds(1));

  const auto real = new_token().str();
  add_token("ci", real);
  const auto m = bearer(real, "203.0.113.5");
  ASSERT_TRUE(m) << failure.error.message();
  EXPECT_EQ(m->name(), "alice");
  // Another address has its own allowance.
  EXPECT_FALSE(bearer(new_token().str(), "203.0.113.6"));
  EXPECT_EQ(failure.error, errc::unauthorized);
}

TEST_F(TokenAuthTest, GuessedTokensDoNotThrottlePasswordsFromTheAddress) {
  for (int i = 0; i < 50; ++i) {
    bearer(new_token().str(), "203.0.113.7");
  }
  failure = {};
  const auto m = club.auth.authenticate_password("alice", "alice's long password", "203.0.113.7",
                                                 hashing::allowed, failure);
  ASSERT_TRUE(m) << failure.error.message();
}

}  // namespace
}  // namespace hush::auth

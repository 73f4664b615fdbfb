#include "net/connection_limiter.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace hush::net {
namespace {

using verdict = connection_limiter::verdict;

// Opens a connection and records, under `name`, when it is chosen to make room.
struct harness {
  connection_limiter limiter;
  std::vector<std::string> evicted;

  explicit harness(connection_caps caps) : limiter(caps) {}

  connection_limiter::admission open(const std::string& name, const std::string& address,
                                     const std::string& network) {
    auto a = limiter.open(address, network);
    if (a.outcome == verdict::admitted) {
      EXPECT_TRUE(limiter.watch(a.id, [this, name] { evicted.push_back(name); }));
    }
    if (a.evicted) {
      a.evicted();
    }
    return a;
  }
};

TEST(ConnectionLimiter, CapsPerAddressAndPerNetworkRefuseWhenAllAreBusy) {
  harness h({100, 2, 3});
  const auto a = h.open("a", "10.0.0.1", "10.0.0.0/24");
  const auto b = h.open("b", "10.0.0.1", "10.0.0.0/24");
  h.limiter.request_seen(a.id);
  h.limiter.request_seen(b.id);
  EXPECT_EQ(h.open("c", "10.0.0.1", "10.0.0.0/24").outcome, verdict::over_address_cap);
  const auto d = h.open("d", "10.0.0.2", "10.0.0.0/24");
  EXPECT_EQ(d.outcome, verdict::admitted);
  h.limiter.request_seen(d.id);
  EXPECT_EQ(h.open("e", "10.0.0.3", "10.0.0.0/24").outcome, verdict::over_network_cap);
  EXPECT_EQ(h.open("f", "10.0.1.3", "10.0.1.0/24").outcome, verdict::admitted);
  EXPECT_EQ(h.limiter.open_count(), 4U);
  EXPECT_TRUE(h.evicted.empty());
}

TEST(ConnectionLimiter, AtANetworksCapItsOwnOldestSilentConnectionMakesRoom) {
  // Silent connections from a member's /24 (a campus, a carrier NAT) cannot lock that /24 out:
  // the network's own oldest goes, never a connection of another network.
  harness h({100, 10, 3});
  h.open("other", "10.9.9.9", "10.9.9.0/24");
  h.open("x1", "10.0.0.1", "10.0.0.0/24");
  h.open("x2", "10.0.0.2", "10.0.0.0/24");
  h.open("x3", "10.0.0.3", "10.0.0.0/24");
  EXPECT_EQ(h.open("member", "10.0.0.4", "10.0.0.0/24").outcome, verdict::admitted);
  EXPECT_EQ(h.evicted, (std::vector<std::string>{"x1"}));
}

TEST(ConnectionLimiter, ClosingGivesThePlaceBack) {
  harness h({100, 1, 1});
  const auto a = h.open("a", "10.0.0.1", "n");
  h.limiter.request_seen(a.id);
  EXPECT_EQ(h.open("b", "10.0.0.1", "n").outcome, verdict::over_address_cap);
  h.limiter.close(a.id);
  EXPECT_EQ(h.limiter.open_count(), 0U);
  EXPECT_EQ(h.open("c", "10.0.0.1", "n").outcome, verdict::admitted);
}

TEST(ConnectionLimiter, ThePeakIsTheMostOpenAtOnceSinceTheLastLook) {
  harness h({100, 100, 100});
  std::vector<connection_limiter::ticket> open;
  for (int i = 0; i < 5; ++i) {
    open.push_back(h.open("c", "10.0.0.1", "10.0.0.0/24").id);
  }
  for (int i = 0; i < 4; ++i) {
    h.limiter.close(open[static_cast<std::size_t>(i)]);
  }
  auto seen = h.limiter.take_peak();
  EXPECT_EQ(seen.peak, 5U);
  EXPECT_EQ(seen.now, 1U);
  // The next look starts from what is open now.
  seen = h.limiter.take_peak();
  EXPECT_EQ(seen.peak, 1U);
  h.open("d", "10.0.0.2", "10.0.0.0/24");
  h.limiter.close(open[4]);
  seen = h.limiter.take_peak();
  EXPECT_EQ(seen.peak, 2U);
  EXPECT_EQ(seen.now, 1U);
}

TEST(ConnectionLimiter, AtTheCapTheOldestUnprovenMakesRoomWhateverItsStage) {
  harness h({3, 10, 10});
  const auto a = h.open("a", "1", "n1");
  h.open("b", "2", "n2");
  h.open("c", "3", "n3");
  // a finished its handshake, b and c did not: a is still the oldest and goes first, so a
  // handshake alone buys no protection against older silence.
  h.limiter.handshake_done(a.id);
  EXPECT_EQ(h.open("d", "4", "n4").outcome, verdict::admitted);
  EXPECT_EQ(h.evicted, (std::vector<std::string>{"a"}));
  EXPECT_EQ(h.open("e", "5", "n5").outcome, verdict::admitted);
  EXPECT_EQ(h.evicted, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(h.limiter.open_count(), 3U);
}

TEST(ConnectionLimiter, AMemberWhoFinishedTheHandshakeIsNotTheNextVictim) {
  // The attack the old order allowed: the cap full of completed-but-silent connections, a member
  // arrives and is the only one in a handshake, and the attacker's next connect evicted them.
  harness h({3, 10, 10});
  for (const auto* name : {"x1", "x2", "x3"}) {
    const auto x = h.open(name, name, name);
    h.limiter.handshake_done(x.id);
  }
  h.open("member", "m", "m");
  h.open("y1", "y1", "y1");
  EXPECT_EQ(h.evicted, (std::vector<std::string>{"x1", "x2"}));
}

TEST(ConnectionLimiter, IdleKeepAliveConnectionsGoAfterUnprovenOnesLongestIdleFirst) {
  harness h({3, 10, 10});
  const auto a = h.open("a", "1", "n1");
  const auto b = h.open("b", "2", "n2");
  h.limiter.request_seen(a.id);
  h.limiter.request_seen(b.id);
  h.limiter.idle(b.id);
  h.limiter.idle(a.id);  // a has been idle for less time than b
  h.open("c", "3", "n3");
  EXPECT_EQ(h.open("d", "4", "n4").outcome, verdict::admitted);
  EXPECT_EQ(h.evicted, (std::vector<std::string>{"c"}));
  EXPECT_EQ(h.open("e", "5", "n5").outcome, verdict::admitted);
  EXPECT_EQ(h.evicted, (std::vector<std::string>{"c", "d"}));
  h.limiter.request_seen(h.open("f", "6", "n6").id);
  EXPECT_EQ(h.evicted, (std::vector<std::string>{"c", "d", "e"}));
  EXPECT_EQ(h.open("g", "7", "n7").outcome, verdict::admitted);
  EXPECT_EQ(h.evicted, (std::vector<std::string>{"c", "d", "e", "b"}));
}

TEST(ConnectionLimiter, AConnectionChosenBeforeItsRequestWasWholeIsTold) {
  harness h({1, 10, 10});
  const auto a = h.open("a", "1", "n");
  h.open("b", "2", "n");
  EXPECT_FALSE(h.limiter.handshake_done(a.id));
  EXPECT_FALSE(h.limiter.request_seen(a.id));
}

TEST(ConnectionLimiter, AmongTheUnprovenArrivalOrderCountsNotHandshakeOrder) {
  harness h({2, 10, 10});
  const auto a = h.open("a", "1", "n1");
  const auto b = h.open("b", "2", "n2");
  h.limiter.handshake_done(b.id);
  h.limiter.handshake_done(a.id);
  h.open("c", "3", "n3");
  EXPECT_EQ(h.evicted, (std::vector<std::string>{"a"}));
}

TEST(ConnectionLimiter, ConnectionsBusyWithARequestAreNeverEvicted) {
  harness h({2, 10, 10});
  const auto a = h.open("a", "1", "n1");
  const auto b = h.open("b", "2", "n2");
  h.limiter.handshake_done(a.id);
  EXPECT_TRUE(h.limiter.request_seen(a.id));
  EXPECT_TRUE(h.limiter.request_seen(b.id));  // a request without a handshake step counts the same
  EXPECT_EQ(h.open("c", "3", "n3").outcome, verdict::full);
  EXPECT_TRUE(h.evicted.empty());
  h.limiter.close(b.id);
  EXPECT_EQ(h.open("d", "4", "n4").outcome, verdict::admitted);
}

TEST(ConnectionLimiter, AnEvictedConnectionsCloseIsANoOp) {
  harness h({1, 10, 10});
  const auto a = h.open("a", "1", "n");
  const auto b = h.open("b", "2", "n");
  EXPECT_EQ(h.evicted, (std::vector<std::string>{"a"}));
  h.limiter.handshake_done(a.id);
  h.limiter.request_seen(a.id);
  h.limiter.close(a.id);  // the evicted session ends later: b keeps its place
  EXPECT_EQ(h.limiter.open_count(), 1U);
  EXPECT_EQ(h.open("c", "3", "n").outcome, verdict::admitted);
  EXPECT_EQ(h.evicted, (std::vector<std::string>{"a", "b"}));
  h.limiter.close(b.id);
  EXPECT_EQ(h.limiter.open_count(), 1U);
}

TEST(ConnectionLimiter, EvictionGivesBackTheVictimsAddressAndNetworkPlaces) {
  harness h({1, 1, 1});
  h.open("a", "1", "n");
  EXPECT_EQ(h.open("b", "2", "m").outcome, verdict::admitted);
  EXPECT_EQ(h.open("c", "1", "n").outcome, verdict::admitted);  // a's places are free again
  EXPECT_EQ(h.evicted, (std::vector<std::string>{"a", "b"}));
}

TEST(ConnectionLimiter, OverTheAddressCapOnlyThatAddresssOwnConnectionsGo) {
  harness h({3, 1, 10});
  h.open("a", "1", "n");
  h.open("b", "2", "n");
  EXPECT_EQ(h.open("c", "1", "n").outcome, verdict::admitted);
  EXPECT_EQ(h.evicted, (std::vector<std::string>{"a"}));
}

TEST(ConnectionLimiter, ChosenBeforeWatchedIsReported) {
  connection_limiter limiter({1, 10, 10});
  const auto a = limiter.open("1", "n");
  const auto b = limiter.open("2", "n");
  ASSERT_EQ(b.outcome, verdict::admitted);
  ASSERT_TRUE(b.evicted);
  b.evicted();  // nothing to call yet
  EXPECT_FALSE(limiter.watch(a.id, [] {}));
  EXPECT_TRUE(limiter.watch(b.id, [] {}));
}

TEST(ConnectionLimiter, PressureFromThreeQuartersOfTheCap) {
  harness h({8, 10, 10});
  for (int i = 0; i < 5; ++i) {
    h.open(std::to_string(i), std::to_string(i), "n");
  }
  EXPECT_FALSE(h.limiter.under_pressure());
  h.open("5", "5", "n");
  EXPECT_TRUE(h.limiter.under_pressure());
}

}  // namespace
}  // namespace hush::net

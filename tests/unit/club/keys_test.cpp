// The club's key use cases (club/keys.cpp) and the keyring's rotation and reload.
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "core/error.hpp"
#include "crypto/envelope.hpp"
#include "support/test_club.hpp"

namespace hush::club {
namespace {

using store::role;

locked_bytes copy(const locked_bytes& key) {
  return locked_bytes::copy_of(key.span());
}

std::vector<store::message_id> post_some(testing::test_club& c, int count) {
  c.add("alice", role::poster, "an author's long password");
  std::vector<store::message_id> ids;
  for (int i = 0; i < count; ++i) {
    ids.push_back(c.domain.post("alice", "message " + std::to_string(i)).value());
  }
  return ids;
}

void expect_all_readable(testing::test_club& c, const std::vector<store::message_id>& ids) {
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto read = c.domain.read(ids[i], "alice", "test");
    ASSERT_TRUE(read) << i;
    EXPECT_EQ(read->body.view(), "message " + std::to_string(i));
  }
}

std::uint32_t key_of(testing::test_club& c, store::message_id id) {
  return crypto::envelope::key_id(c.store.message(id, 0).value().sealed).value();
}

TEST(MasterKeyRotation, RewrapsEveryDataKeyAndTheOldKeyNoLongerOpensThem) {
  testing::test_club c;
  const auto ids = post_some(c, 3);
  ASSERT_TRUE(c.keys.add_data_key(c.clock.now_seconds()));
  const auto old_key = testing::random_master_key();  // stand-in: not the club's
  const auto fresh = testing::random_master_key();
  ASSERT_TRUE(c.domain.rotate_master_key(copy(fresh)));
  expect_all_readable(c, ids);

  // A new keyring with the new key opens everything and passes the check...
  keyring renewed(copy(fresh), c.store);
  EXPECT_TRUE(renewed.verify_master_key());
  EXPECT_TRUE(renewed.load_all());
  // ...and one with any other key does not.
  keyring other(copy(old_key), c.store);
  EXPECT_EQ(other.verify_master_key().error(), errc::crypto_failure);
  EXPECT_EQ(other.load_all().error(), errc::crypto_failure);
}

TEST(MasterKeyRotation, AKeyringThatMissedItReloadsTheNewKey) {
  testing::test_club c;
  const auto ids = post_some(c, 2);
  const auto original = testing::random_master_key();
  // The test club's key is not at hand: rotate to one that is, as a server would hold it.
  ASSERT_TRUE(c.keys.rotate_master_key(copy(original)));

  const auto fresh = testing::random_master_key();
  int reloads = 0;
  keyring server(copy(original), c.store, [&]() -> result<locked_bytes> {
    ++reloads;
    return copy(fresh);
  });
  ASSERT_TRUE(server.verify_master_key());
  // Another process rotates the master key, then adds a data key the server has never seen.
  keyring rotator(copy(original), c.store);
  ASSERT_TRUE(rotator.rotate_master_key(copy(fresh)));
  ASSERT_TRUE(rotator.add_data_key(c.clock.now_seconds()));
  const std::vector<std::uint8_t> plain{1, 2, 3};
  auto sealed = server.seal(plain, "ctx");
  ASSERT_TRUE(sealed);
  EXPECT_EQ(reloads, 1);
  EXPECT_EQ(server.open(*sealed, "ctx").value().span().size(), 3U);
  expect_all_readable(c, ids);
}

TEST(MasterKeyRotation, ThreadsThatMissedTheRotationReloadOnce) {
  testing::test_club c;
  const auto original = testing::random_master_key();
  ASSERT_TRUE(c.keys.rotate_master_key(copy(original)));
  const auto fresh = testing::random_master_key();
  std::atomic<int> reloads{0};
  keyring server(copy(original), c.store, [&]() -> result<locked_bytes> {
    ++reloads;
    // As long as an unsealing takes: the other threads arrive meanwhile.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return copy(fresh);
  });
  keyring rotator(copy(original), c.store);
  ASSERT_TRUE(rotator.rotate_master_key(copy(fresh)));
  ASSERT_TRUE(rotator.add_data_key(c.clock.now_seconds()));
  constexpr int threads = 4;
  std::atomic<int> sealed{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i) {
    workers.emplace_back([&] {
      if (server.seal(std::vector<std::uint8_t>{1}, "ctx")) {
        ++sealed;
      }
    });
  }
  for (auto& w : workers) {
    w.join();
  }
  EXPECT_EQ(sealed.load(), threads);
  EXPECT_EQ(reloads.load(), 1);
}

TEST(MasterKeyRotation, AReloadedKeyMustPassTheCheck) {
  testing::test_club c;
  const auto original = testing::random_master_key();
  ASSERT_TRUE(c.keys.rotate_master_key(copy(original)));
  keyring server(copy(original), c.store,
                 []() -> result<locked_bytes> { return testing::random_master_key(); });
  // A data key wrapped under a key the check does not know (written past the store's guard, as
  // by a tampered database): the stranger's reload is refused.
  const auto stranger = testing::random_master_key();
  ASSERT_TRUE(c.store.add_data_key(
      [&](std::int64_t row) -> result<std::vector<std::uint8_t>> {
        return crypto::envelope::seal(stranger.span(), 0, testing::random_master_key().span(),
                                      data_key_context(static_cast<std::uint32_t>(row)));
      },
      c.clock.now_seconds()));
  EXPECT_EQ(server.seal(std::vector<std::uint8_t>{1}, "ctx").error(), errc::crypto_failure);
}

TEST(MasterKeyRotation, ARotationFromAKeyRotatedAwayMeanwhileChangesNothing) {
  testing::test_club c;
  const auto ids = post_some(c, 3);
  const auto original = testing::random_master_key();
  ASSERT_TRUE(c.keys.rotate_master_key(copy(original)));
  // Two processes opened the club with the same key; the first rotates.
  keyring first(copy(original), c.store);
  keyring second(copy(original), c.store);
  ASSERT_TRUE(first.verify_master_key());
  ASSERT_TRUE(second.verify_master_key());
  const auto first_key = testing::random_master_key();
  ASSERT_TRUE(first.rotate_master_key(copy(first_key)));
  // The second still holds the old key: a data key wrapped under it would open with no master
  // key file the club has. The store refuses it in the add's own commit.
  EXPECT_EQ(second.add_data_key(c.clock.now_seconds()).error(), errc::conflict);
  // Its rotation no longer unwraps the keys (had it unwrapped them before the first committed,
  // the store's compare and swap refuses it: the contract test
  // ARewrapCommitsOnlyWhileTheCheckIsStillTheOldKeys).
  EXPECT_FALSE(second.rotate_master_key(testing::random_master_key()));
  // The first key is still the club's, and opens every data key and message.
  keyring reopened(copy(first_key), c.store);
  EXPECT_TRUE(reopened.verify_master_key());
  EXPECT_TRUE(reopened.load_all());
  expect_all_readable(c, ids);
}

TEST(DataKeyRotation, ResealsInBatchesAndRetiresTheOldKey) {
  testing::test_club c;
  const auto ids = post_some(c, 7);
  const auto old_key = key_of(c, ids[0]);
  auto started = c.domain.start_data_key_rotation().value();
  EXPECT_FALSE(started.resumed);
  EXPECT_GT(started.key, old_key);
  // Not finished: the old key stays.
  EXPECT_EQ(c.domain.retire_old_data_keys().error(), errc::conflict);

  std::optional<store::message_id> after;
  std::size_t resealed = 0;
  int steps = 0;
  for (; steps < 100; ++steps) {
    auto step = c.domain.reseal_messages(after, 3).value();
    resealed += step.resealed;
    after = step.next;
    if (step.done) {
      break;
    }
  }
  EXPECT_EQ(resealed, ids.size());
  EXPECT_EQ(steps, 2);  // 3 + 3 + 1
  for (const auto id : ids) {
    EXPECT_EQ(key_of(c, id), started.key);
  }
  EXPECT_EQ(c.domain.retire_old_data_keys().value(), 1U);
  EXPECT_EQ(c.store.list_data_keys().value().size(), 1U);
  expect_all_readable(c, ids);
  // A fresh keyring (a restarted server) opens them all without the old key.
  keyring restarted(testing::random_master_key(), c.store);
  EXPECT_EQ(restarted.load_all().error(), errc::crypto_failure);
}

// Re-sealed under the new key with the whole of version 2's context, the message's life
// included: it still opens, and a life lengthened in the database afterwards still does not.
TEST(DataKeyRotation, MessagesWithALifeStayReadableAndBound) {
  testing::test_club c;
  c.add("alice", role::poster, "an author's long password");
  c.add("bob", role::reader, "a reader's long password");
  message_life life;
  life.expires_in = 3600;
  life.max_reads = 2;
  const auto id = c.domain.post("alice", "with a life", life).value();
  const auto started = c.domain.start_data_key_rotation().value();
  ASSERT_TRUE(c.domain.reseal_messages(std::nullopt, 10).value().done);
  EXPECT_EQ(key_of(c, id), started.key);
  EXPECT_EQ(c.domain.read(id, "alice", "r").value().body.view(), "with a life");
  EXPECT_EQ(c.domain.read(id, "bob", "r").value().reads, 1U);

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(c.db_path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE messages SET expires_at = 0, max_reads = 0", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  EXPECT_EQ(c.domain.read(id, "alice", "r").error(), errc::crypto_failure);
}

TEST(DataKeyRotation, StartingAgainResumesAnUnfinishedRotation) {
  testing::test_club c;
  const auto ids = post_some(c, 4);
  const auto started = c.domain.start_data_key_rotation().value();
  ASSERT_TRUE(c.domain.reseal_messages(std::nullopt, 2));  // cut short here
  const auto again = c.domain.start_data_key_rotation().value();
  EXPECT_TRUE(again.resumed);
  EXPECT_EQ(again.key, started.key);
  auto step = c.domain.reseal_messages(std::nullopt, 10).value();
  EXPECT_TRUE(step.done);
  EXPECT_EQ(step.resealed, 2U);  // the first two were done already
  EXPECT_EQ(c.domain.retire_old_data_keys().value(), 1U);
  expect_all_readable(c, ids);
  // Finished: the next start is a new rotation.
  EXPECT_FALSE(c.domain.start_data_key_rotation().value().resumed);
}

TEST(DataKeyRotation, ABodyThatWasAlteredStopsTheRotationWithoutLosingAnything) {
  testing::test_club c;
  const auto ids = post_some(c, 2);
  ASSERT_TRUE(c.domain.start_data_key_rotation());
  auto row = c.store.message(ids[1], 0).value();
  auto altered = row.sealed;
  altered.back() ^= 1;
  ASSERT_EQ(
      c.store.reseal_messages(std::vector<store::resealed_message>{{ids[1], row.sealed, altered}})
          .value(),
      1U);
  EXPECT_EQ(c.domain.reseal_messages(std::nullopt, 10).error(), errc::crypto_failure);
  EXPECT_EQ(c.domain.retire_old_data_keys().error(), errc::conflict);
}

}  // namespace
}  // namespace hush::club

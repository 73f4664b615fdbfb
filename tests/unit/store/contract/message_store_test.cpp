// The contract of store/message_store.hpp, for every backend (store_contract.hpp).
#include "store/message_store.hpp"

#include <set>
#include <string>
#include <thread>

#include "core/error.hpp"
#include "unit/store/contract/store_contract.hpp"

namespace hush::store::contract {

TEST_P(MessageStoreContract, AMessageIsKeptAsSealed) {
  const auto id = db.add_message("alice", 5, fixed_value({1, 2, 3})).value();
  const auto m = db.message(id, 0).value();
  EXPECT_EQ(m.id, id);
  EXPECT_EQ(m.author, "alice");
  EXPECT_EQ(m.created_at, 5);
  EXPECT_EQ(m.sealed, (std::vector<std::uint8_t>{1, 2, 3}));
  EXPECT_EQ(m.format, message_format::text);
  EXPECT_EQ(db.message(message_id{id.value + 1}, 0).error(), errc::not_found);
}

TEST_P(MessageStoreContract, TheSealerSeesTheIdAndItsFailureStoresNothing) {
  std::int64_t seen = 0;
  const auto id =
      db.add_message("alice", 5, [&](std::int64_t row) -> result<std::vector<std::uint8_t>> {
        seen = row;
        return std::vector<std::uint8_t>{1, 2, 3};
      });
  ASSERT_TRUE(id);
  EXPECT_EQ(id->value, seen);

  const auto failed =
      db.add_message("alice", 6, [](std::int64_t) -> result<std::vector<std::uint8_t>> {
        return make_error_code(errc::crypto_failure);
      });
  EXPECT_EQ(failed.error(), errc::crypto_failure);
  EXPECT_EQ(db.list_messages(std::nullopt, 10, 0).value().size(), 1U);
  EXPECT_EQ(db.newest_message(0).value().id, *id);
}

TEST_P(MessageStoreContract, TheNewestIsTheLastAdded) {
  EXPECT_EQ(db.newest_message(0).error(), errc::not_found);
  ASSERT_TRUE(db.add_message("a", 2, fixed_value({1})));
  // Newest by id, not by the time given.
  const auto second = db.add_message("b", 1, fixed_value({2})).value();
  const auto newest = db.newest_message(0).value();
  EXPECT_EQ(newest.id, second);
  EXPECT_EQ(newest.author, "b");
  EXPECT_EQ(newest.sealed, std::vector<std::uint8_t>{2});
}

TEST_P(MessageStoreContract, ListingIsNewestFirstInKeysetPages) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(db.add_message("a" + std::to_string(i), 100 + i, fixed_value({0})));
  }
  const auto first = db.list_messages(std::nullopt, 2, 0).value();
  ASSERT_EQ(first.size(), 2U);
  EXPECT_EQ(first[0].author, "a4");
  EXPECT_EQ(first[0].created_at, 104);
  EXPECT_EQ(first[1].author, "a3");
  // A message added meanwhile does not shift the next page.
  ASSERT_TRUE(db.add_message("late", 200, fixed_value({0})));
  const auto second = db.list_messages(first.back().id, 2, 0).value();
  ASSERT_EQ(second.size(), 2U);
  EXPECT_EQ(second[0].author, "a2");
  EXPECT_EQ(second[1].author, "a1");
  const auto last = db.list_messages(second.back().id, 2, 0).value();
  ASSERT_EQ(last.size(), 1U);
  EXPECT_EQ(last[0].author, "a0");
  EXPECT_TRUE(db.list_messages(last.back().id, 2, 0).value().empty());
  EXPECT_TRUE(db.list_messages(std::nullopt, 0, 0).value().empty());
  EXPECT_EQ(db.list_messages(std::nullopt, 100, 0).value().size(), 6U);
}

TEST_P(MessageStoreContract, TheFormatIsKept) {
  const auto text = db.add_message("a", 1, fixed_value({1})).value();
  const auto e2e = db.add_message("a", 2, message_format::fernet, fixed_value({2})).value();
  EXPECT_EQ(db.message(text, 0).value().format, message_format::text);
  EXPECT_EQ(db.message(e2e, 0).value().format, message_format::fernet);
  EXPECT_EQ(db.newest_message(0).value().format, message_format::fernet);
  const auto list = db.list_messages(std::nullopt, 10, 0).value();
  ASSERT_EQ(list.size(), 2U);
  EXPECT_EQ(list[0].format, message_format::fernet);
  EXPECT_EQ(list[1].format, message_format::text);
}

TEST_P(MessageStoreContract, RemovedMessagesAreGoneAndTheirIdsNeverReused) {
  const auto kept = db.add_message("a", 1, fixed_value({1})).value();
  const auto doomed = db.add_message("a", 2, fixed_value({2})).value();
  ASSERT_TRUE(db.remove_message(doomed));
  EXPECT_EQ(db.message(doomed, 0).error(), errc::not_found);
  EXPECT_EQ(db.remove_message(doomed).error(), errc::not_found);
  EXPECT_EQ(db.newest_message(0).value().id, kept);
  const auto next = db.add_message("a", 3, fixed_value({3})).value();
  EXPECT_GT(next.value, doomed.value);
  ASSERT_TRUE(db.remove_message(kept));
  ASSERT_TRUE(db.remove_message(next));
  EXPECT_EQ(db.newest_message(0).error(), errc::not_found);
  EXPECT_GT(db.add_message("a", 4, fixed_value({4})).value().value, next.value);
}

TEST_P(MessageStoreContract, ConcurrentAddsLoseNothing) {
  constexpr int threads = 4;
  constexpr int per_thread = 10;
  std::vector<std::vector<message_id>> ids(threads);
  {
    std::vector<std::jthread> writers;
    for (int t = 0; t < threads; ++t) {
      writers.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i) {
          auto id = db.add_message("t" + std::to_string(t), i, fixed_value({1}));
          ASSERT_TRUE(id);
          ids[t].push_back(*id);
        }
      });
    }
  }
  std::set<message_id> distinct;
  for (const auto& mine : ids) {
    distinct.insert(mine.begin(), mine.end());
  }
  EXPECT_EQ(distinct.size(), static_cast<std::size_t>(threads * per_thread));
  EXPECT_EQ(db.list_messages(std::nullopt, 1000, 0).value().size(),
            static_cast<std::size_t>(threads * per_thread));
}

TEST_P(MessageStoreContract, DataKeys) {
  EXPECT_EQ(db.newest_data_key().error(), errc::not_found);
  std::int64_t seen = 0;
  const auto one = db.add_data_key(
                         [&](std::int64_t id) -> result<std::vector<std::uint8_t>> {
                           seen = id;
                           return std::vector<std::uint8_t>{9};
                         },
                         1)
                       .value();
  EXPECT_EQ(seen, std::int64_t{one});
  const auto two = db.add_data_key(fixed_value({8}), 2).value();
  EXPECT_GT(two, one);
  const auto newest = db.newest_data_key().value();
  EXPECT_EQ(newest.id, two);
  EXPECT_EQ(newest.wrapped, std::vector<std::uint8_t>{8});
  EXPECT_EQ(db.data_key(one).value().wrapped, std::vector<std::uint8_t>{9});
  EXPECT_EQ(db.data_key(one).value().id, one);
  EXPECT_EQ(db.data_key(two + 1).error(), errc::not_found);

  const auto failed = db.add_data_key(
      [](std::int64_t) -> result<std::vector<std::uint8_t>> {
        return make_error_code(errc::crypto_failure);
      },
      3);
  EXPECT_EQ(failed.error(), errc::crypto_failure);
  EXPECT_EQ(db.newest_data_key().value().id, two);
}

TEST_P(MessageStoreContract, DataKeysAreListedAndRewrappedTogetherWithTheCheck) {
  EXPECT_TRUE(db.list_data_keys().value().empty());
  const auto one = db.add_data_key(fixed_value({1}), 1).value();
  const auto two = db.add_data_key(fixed_value({2}), 2).value();
  auto keys = db.list_data_keys().value();
  ASSERT_EQ(keys.size(), 2U);
  EXPECT_EQ(keys[0].id, one);
  EXPECT_EQ(keys[1].id, two);

  keys[0].wrapped = {11};
  keys[1].wrapped = {12};
  const std::vector<std::uint8_t> check{7, 7};
  // No check stored yet: any expected value passes.
  ASSERT_TRUE(db.rewrap_data_keys(keys, "key_check", std::vector<std::uint8_t>{1}, check));
  EXPECT_EQ(db.data_key(one).value().wrapped, std::vector<std::uint8_t>{11});
  EXPECT_EQ(db.data_key(two).value().wrapped, std::vector<std::uint8_t>{12});
  EXPECT_EQ(db.club_meta("key_check").value(), check);

  // A key added meanwhile (or one named that is not there): nothing changes.
  const auto three = db.add_data_key(fixed_value({3}), 3).value();
  keys[0].wrapped = {21};
  EXPECT_EQ(db.rewrap_data_keys(keys, "key_check", check, std::vector<std::uint8_t>{8}).error(),
            errc::conflict);
  EXPECT_EQ(db.data_key(one).value().wrapped, std::vector<std::uint8_t>{11});
  EXPECT_EQ(db.club_meta("key_check").value(), check);
  auto wrong = db.list_data_keys().value();
  wrong[2].id = three + 1;
  EXPECT_EQ(db.rewrap_data_keys(wrong, "key_check", check, std::vector<std::uint8_t>{8}).error(),
            errc::conflict);
  EXPECT_EQ(db.data_key(three).value().wrapped, std::vector<std::uint8_t>{3});
  EXPECT_EQ(db.club_meta("key_check").value(), check);
}

TEST_P(MessageStoreContract, ARewrapCommitsOnlyWhileTheCheckIsStillTheOldKeys) {
  const auto one = db.add_data_key(fixed_value({1}), 1).value();
  const std::vector<std::uint8_t> old_check{1, 1};
  const std::vector<std::uint8_t> first_check{2, 2};
  const std::vector<std::uint8_t> second_check{3, 3};
  ASSERT_TRUE(db.set_club_meta_once("key_check", old_check));
  auto first = db.list_data_keys().value();
  auto second = first;
  first[0].wrapped = {11};
  second[0].wrapped = {21};
  // Two rotations read the same keys under the same master key; the first to commit wins...
  ASSERT_TRUE(db.rewrap_data_keys(first, "key_check", old_check, first_check));
  // ...and the second, whose keys were wrapped from the old master key, changes nothing.
  EXPECT_EQ(db.rewrap_data_keys(second, "key_check", old_check, second_check).error(),
            errc::conflict);
  EXPECT_EQ(db.data_key(one).value().wrapped, std::vector<std::uint8_t>{11});
  EXPECT_EQ(db.club_meta("key_check").value(), first_check);
}

TEST_P(MessageStoreContract, ADataKeyIsAddedOnlyWhileTheGuardHolds) {
  const std::vector<std::uint8_t> check{1, 1};
  const std::vector<std::uint8_t> other{2, 2};
  // No check stored: the guard passes.
  const auto one = db.add_data_key(fixed_value({1}), 1, meta_guard{"key_check", other}).value();
  ASSERT_TRUE(db.set_club_meta_once("key_check", check));
  // Wrapped under a master key whose check is not the club's (rotated away meanwhile).
  EXPECT_EQ(db.add_data_key(fixed_value({2}), 2, meta_guard{"key_check", other}).error(),
            errc::conflict);
  EXPECT_EQ(db.newest_data_key().value().id, one);
  EXPECT_EQ(db.list_data_keys().value().size(), 1U);
  const auto two = db.add_data_key(fixed_value({3}), 3, meta_guard{"key_check", check}).value();
  EXPECT_GT(two, one);
  EXPECT_EQ(db.data_key(two).value().wrapped, std::vector<std::uint8_t>{3});
}

TEST_P(MessageStoreContract, AnOldDataKeyCanBeRemovedButNotTheNewest) {
  const auto one = db.add_data_key(fixed_value({1}), 1).value();
  EXPECT_EQ(db.remove_data_key(one).error(), errc::conflict);
  const auto two = db.add_data_key(fixed_value({2}), 2).value();
  ASSERT_TRUE(db.remove_data_key(one));
  EXPECT_EQ(db.data_key(one).error(), errc::not_found);
  EXPECT_EQ(db.remove_data_key(one).error(), errc::not_found);
  EXPECT_EQ(db.remove_data_key(two).error(), errc::conflict);
  // Ids keep growing past a removed key.
  EXPECT_GT(db.add_data_key(fixed_value({3}), 3).value(), two);
}

TEST_P(MessageStoreContract, SealedMessagesArePagedOldestFirst) {
  std::vector<message_id> ids;
  for (std::uint8_t i = 0; i < 5; ++i) {
    ids.push_back(db.add_message("a", i, fixed_value({i})).value());
  }
  ASSERT_TRUE(db.remove_message(ids[2]));
  const auto first = db.sealed_messages(std::nullopt, 2).value();
  ASSERT_EQ(first.size(), 2U);
  EXPECT_EQ(first[0].id, ids[0]);
  EXPECT_EQ(first[0].sealed, std::vector<std::uint8_t>{0});
  EXPECT_EQ(first[1].id, ids[1]);
  const auto second = db.sealed_messages(first.back().id, 2).value();
  ASSERT_EQ(second.size(), 2U);
  EXPECT_EQ(second[0].id, ids[3]);
  EXPECT_EQ(second[1].id, ids[4]);
  EXPECT_EQ(second[1].author, "a");
  EXPECT_TRUE(db.sealed_messages(second.back().id, 2).value().empty());
}

TEST_P(MessageStoreContract, ResealingReplacesOnlyWhatIsStillExpected) {
  const auto a = db.add_message("a", 1, fixed_value({1})).value();
  const auto b = db.add_message("b", 2, fixed_value({2})).value();
  const auto c = db.add_message("c", 3, fixed_value({3})).value();
  ASSERT_TRUE(db.remove_message(c));
  const std::vector<resealed_message> batch{
      {a, {1}, {10}},
      {b, {9}, {20}},  // changed meanwhile: left alone
      {c, {3}, {30}},  // removed meanwhile: not brought back
  };
  EXPECT_EQ(db.reseal_messages(batch).value(), 1U);
  EXPECT_EQ(db.message(a, 0).value().sealed, std::vector<std::uint8_t>{10});
  EXPECT_EQ(db.message(a, 0).value().author, "a");
  EXPECT_EQ(db.message(b, 0).value().sealed, std::vector<std::uint8_t>{2});
  EXPECT_EQ(db.message(c, 0).error(), errc::not_found);
  EXPECT_EQ(db.reseal_messages({}).value(), 0U);
}

}  // namespace hush::store::contract

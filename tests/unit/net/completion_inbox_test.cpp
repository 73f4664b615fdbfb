#include "net/completion_inbox.hpp"

#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

namespace hush::net {
namespace {

TEST(CompletionInbox, WorkHandedOverTogetherWakesTheThreadOnce) {
  boost::asio::io_context io{1};
  auto& inbox = completion_inbox::of(io.get_executor());
  std::vector<int> ran;
  std::thread committer([&] {
    for (int i = 0; i < 100; ++i) {
      inbox.hand_over([&ran, i] { ran.push_back(i); });
    }
  });
  committer.join();
  // io_context::run counts the handlers it ran: one drain for the hundred.
  EXPECT_EQ(io.run(), 1U);
  ASSERT_EQ(ran.size(), 100U);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(ran[static_cast<std::size_t>(i)], i);
  }
}

TEST(CompletionInbox, OneInboxPerContext) {
  boost::asio::io_context first{1};
  boost::asio::io_context second{1};
  EXPECT_EQ(&completion_inbox::of(first.get_executor()),
            &completion_inbox::of(first.get_executor()));
  EXPECT_NE(&completion_inbox::of(first.get_executor()),
            &completion_inbox::of(second.get_executor()));
}

TEST(CompletionInbox, WorkHandedOverWhileDrainingWaitsForTheNextWakeUp) {
  boost::asio::io_context io{1};
  auto& inbox = completion_inbox::of(io.get_executor());
  std::vector<int> ran;
  inbox.hand_over([&] {
    ran.push_back(1);
    inbox.hand_over([&] { ran.push_back(3); });
    ran.push_back(2);
  });
  EXPECT_EQ(io.run(), 2U);
  EXPECT_EQ(ran, (std::vector<int>{1, 2, 3}));
}

TEST(CompletionInbox, RunsBesidePostedWork) {
  boost::asio::io_context io{1};
  auto& inbox = completion_inbox::of(io.get_executor());
  int inboxed = 0;
  int posted = 0;
  inbox.hand_over([&] { ++inboxed; });
  boost::asio::post(io, [&] { ++posted; });
  inbox.hand_over([&] { ++inboxed; });
  io.run();
  EXPECT_EQ(inboxed, 2);
  EXPECT_EQ(posted, 1);
}

TEST(CompletionInbox, WorkLeftWhenTheContextGoesIsDestroyedUnrun) {
  auto held = std::make_shared<int>(0);
  {
    boost::asio::io_context io{1};
    completion_inbox::of(io.get_executor()).hand_over([held] { ++*held; });
    EXPECT_EQ(held.use_count(), 2);
  }
  EXPECT_EQ(held.use_count(), 1);
  EXPECT_EQ(*held, 0);
}

}  // namespace
}  // namespace hush::net

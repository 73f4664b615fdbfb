#include "net/completion_inbox.hpp"

#include <utility>

#include <boost/asio/post.hpp>

namespace hush::net {

completion_inbox::completion_inbox(boost::asio::execution_context& context)
    : boost::asio::execution_context::service(context) {}

completion_inbox& completion_inbox::of(const boost::asio::any_io_executor& executor) {
  auto& inbox = boost::asio::use_service<completion_inbox>(
      boost::asio::query(executor, boost::asio::execution::context));
  std::lock_guard lock(inbox.mutex_);
  if (!inbox.executor_) {
    inbox.executor_ = executor;
  }
  return inbox;
}

void completion_inbox::hand_over(work job) {
  boost::asio::any_io_executor wake;
  {
    std::lock_guard lock(mutex_);
    waiting_.push_back(std::move(job));
    if (!std::exchange(wake_pending_, true)) {
      wake = executor_;
    }
  }
  if (wake) {
    boost::asio::post(wake, [this] { drain(); });
  }
}

void completion_inbox::drain() {
  std::vector<work> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(waiting_);
    wake_pending_ = false;
  }
  for (auto& job : batch) {
    job();
  }
  // The jobs go here, on the I/O thread; their vector's room is kept for the next batch.
  batch.clear();
  std::lock_guard lock(mutex_);
  if (waiting_.empty()) {
    waiting_.swap(batch);
  }
}

void completion_inbox::shutdown() {
  // The context is going away: work still waiting holds sessions, which must go now, while what
  // they use still exists.
  std::vector<work> dropped;
  {
    std::lock_guard lock(mutex_);
    dropped.swap(waiting_);
  }
}

}  // namespace hush::net

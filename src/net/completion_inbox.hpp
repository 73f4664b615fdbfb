#pragma once

#include <functional>
#include <mutex>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution_context.hpp>

namespace hush::net {

// Work that other threads hand back to one I/O thread (an audit commit's completions, a worker's
// answers), coalesced: while one wake-up of the I/O thread is pending, more work joins it instead
// of posting again. A group commit completes hundreds of reads at once; posted one by one, each
// took the io_context's lock, allocated an operation and could interrupt its epoll_wait. One
// inbox per io_context, as an Asio service of it, so it lives and dies with the context.
class completion_inbox : public boost::asio::execution_context::service {
 public:
  using work = std::function<void()>;
  // NOLINTNEXTLINE(cert-err58-cpp): Asio's service identity, constructed without allocating.
  static inline boost::asio::execution_context::id id;

  explicit completion_inbox(boost::asio::execution_context& context);
  completion_inbox(const completion_inbox&) = delete;
  completion_inbox& operator=(const completion_inbox&) = delete;
  ~completion_inbox() override = default;

  // The inbox of the context that runs `executor`'s work (an io_context's plain executor: the
  // inbox posts its wake-ups there).
  static completion_inbox& of(const boost::asio::any_io_executor& executor);

  // Thread safe: `job` runs on the context's thread, after what was handed in before it.
  void hand_over(work job);

 private:
  void shutdown() override;
  void drain();

  std::mutex mutex_;
  boost::asio::any_io_executor executor_;
  std::vector<work> waiting_;
  bool wake_pending_ = false;
};

}  // namespace hush::net

#pragma once

#include <memory>
#include <mutex>
#include <string>

namespace hush::http {

// Bytes served as they are that may be replaced while the server runs (the CA's CRL, after
// `hush ca crl`). Thread safe.
class published_bytes {
 public:
  std::shared_ptr<const std::string> get() const {
    std::lock_guard lock(mutex_);
    return bytes_;
  }
  void set(std::string bytes) {
    auto next = std::make_shared<const std::string>(std::move(bytes));
    std::lock_guard lock(mutex_);
    bytes_ = std::move(next);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const std::string> bytes_ = std::make_shared<const std::string>();
};

}  // namespace hush::http

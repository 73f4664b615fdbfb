#pragma once

// The pooled-connection lease of sqlite_store. Internal to store/sqlite/.

#include <memory>
#include <mutex>

#include "store/sqlite/connection.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace hush::store {

// A connection taken from the pool for the length of one store call.
class sqlite_store::lease {
 public:
  lease(sqlite_store& owner, std::unique_ptr<sqlite_connection> connection)
      : owner_(owner), connection_(std::move(connection)) {}
  lease(lease&&) = default;
  lease(const lease&) = delete;
  lease& operator=(const lease&) = delete;
  lease& operator=(lease&&) = delete;
  ~lease() {
    if (connection_) {
      std::lock_guard lock(owner_.pool_mutex_);
      owner_.idle_.push_back(std::move(connection_));
    }
  }
  sqlite_connection* operator->() { return connection_.get(); }
  sqlite_connection& operator*() { return *connection_; }

 private:
  sqlite_store& owner_;
  std::unique_ptr<sqlite_connection> connection_;
};

}  // namespace hush::store

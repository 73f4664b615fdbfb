// postgres_store: the change feed (LISTEN hush_changes) a server follows.
#include <chrono>
#include <thread>

#include "store/postgres/postgres_store.hpp"

namespace hush::store {

bool postgres_store::follow_changes(const std::function<void()>& on_change,
                                    const std::stop_token& stop) {
  // How often a stop request is looked at, and how long to wait before connecting again.
  static constexpr auto wait_slice = std::chrono::milliseconds(200);
  static constexpr auto reconnect_after = std::chrono::seconds(1);
  const auto pause = [&stop](std::chrono::milliseconds how_long) {
    for (auto waited = std::chrono::milliseconds(0); waited < how_long && !stop.stop_requested();
         waited += wait_slice) {
      std::this_thread::sleep_for(wait_slice);
    }
  };
  while (!stop.stop_requested()) {
    auto made = pg_connection::connect(conninfo_, timeouts_);
    if (!made || !(*made)->exec("LISTEN hush_changes")) {
      pause(reconnect_after);
      continue;
    }
    // Whatever changed while nobody listened.
    on_change();
    while (!stop.stop_requested()) {
      const auto arrived = (*made)->wait_for_notifications(wait_slice);
      if (!arrived) {
        break;  // lost: listen again on a new connection
      }
      if (*arrived > 0) {
        on_change();
      }
    }
    pause(reconnect_after);
  }
  return true;
}

}  // namespace hush::store

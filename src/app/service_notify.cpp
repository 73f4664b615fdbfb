#include "app/service_notify.hpp"

#include <string>
#include <system_error>
#include <systemd/sd-daemon.h>

#include "core/log.hpp"

namespace hush::app {

void notify_service(std::string_view state) {
  // $NOTIFY_SOCKET stays set (unset_environment = 0): each state change is sent on it, and the
  // only child hush runs (`hush ca crl`) never calls this.
  const std::string message(state);
  const int sent = ::sd_notify(0, message.c_str());
  if (sent < 0) {
    log::warn("could not tell the service manager " + message + ": " +
              std::system_category().message(-sent));
  }
}

}  // namespace hush::app

#pragma once

#include <string_view>

namespace hush::app {

// Tells the service manager how the server is doing, by sd_notify(3): "READY=1" once it listens,
// "RELOADING=1" and "READY=1" around a SIGHUP reload, "STOPPING=1" when shutdown begins. Does
// nothing unless systemd started hush with $NOTIFY_SOCKET set (a Type=notify unit), and never
// fails: a manager that cannot be told is no reason to stop serving. Thread safe.
void notify_service(std::string_view state);

}  // namespace hush::app

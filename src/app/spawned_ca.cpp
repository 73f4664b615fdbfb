#include "app/spawned_ca.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <string>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "core/error.hpp"
#include "core/log.hpp"

namespace hush::app {
namespace {

// The running binary, even when its file was replaced or removed since it started.
constexpr const char* self_binary = "/proc/self/exe";
// A child stuck on a lock or a wedged disk must not hold a server thread (and every later
// removal behind the mutex) for ever.
constexpr std::chrono::seconds publish_timeout{30};

// Waits for the child up to publish_timeout; past it, kills it. False if it had to be killed.
bool wait_for_child(pid_t pid, int& status) {
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  bool in_time = true;
  if (pidfd >= 0) {
    pollfd ready{pidfd, POLLIN, 0};
    const auto deadline = std::chrono::steady_clock::now() + publish_timeout;
    int polled = 0;
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      polled = ::poll(&ready, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
      if (polled >= 0 || errno != EINTR) {
        break;
      }
    }
    ::close(pidfd);
    if (polled == 0) {
      ::kill(pid, SIGKILL);
      in_time = false;
    }
  }
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return false;
    }
  }
  return in_time;
}

}  // namespace

result<club::issued_certificate> spawned_ca::issue_client(std::string_view, int) {
  return make_error_code(errc::forbidden);
}

result<void> spawned_ca::publish_revocations(int days) {
  // --dir=DIR in one word: a directory named like an option stays a directory.
  std::vector<std::string> args{"hush", "ca", "crl", "--dir=" + paths_.dir.string()};
  if (days > 0) {
    args.emplace_back("--days");
    args.push_back(std::to_string(days));
  }
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& arg : args) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);

  const std::lock_guard lock(mutex_);
  // Its report ("Wrote ca.crl ...") is for a terminal: standard output goes nowhere, while its
  // errors reach the server's standard error (the journal).
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  // Nothing else of the server's: not its listener, not its members' connections.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, self_binary, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    log::error("ca.crl: cannot start hush ca crl: " + std::generic_category().message(spawned));
    return make_error_code(errc::io_failure);
  }
  int status = 0;
  if (!wait_for_child(pid, status)) {
    log::error("ca.crl: hush ca crl took longer than " + std::to_string(publish_timeout.count()) +
               " s and was stopped");
    return make_error_code(errc::io_failure);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    log::error("ca.crl: hush ca crl failed; the list is not rewritten");
    return make_error_code(errc::io_failure);
  }
  if (on_published_) {
    on_published_();
  }
  return {};
}

}  // namespace hush::app

#include "core/process.hpp"

#include <cerrno>
#include <fcntl.h>
#include <stdexcept>
#include <string>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <system_error>
#include <unistd.h>

namespace hush::process {
namespace {

int remembered_argc = 0;
char** remembered_argv = nullptr;

}  // namespace

void ensure_standard_descriptors() noexcept {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
      // open() returns the lowest free descriptor: this very one.
      const int opened = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
      if (opened > 2) {
        ::close(opened);
      }
    }
  }
}

void forbid_core_dumps() {
  const rlimit none{0, 0};
  if (::setrlimit(RLIMIT_CORE, &none) != 0) {
    throw std::runtime_error(std::string("cannot turn core dumps off: ") +
                             std::generic_category().message(errno));
  }
  // RLIMIT_CORE does not stop a core_pattern that pipes to a program (systemd-coredump, apport):
  // an undumpable process is not handed to it at all.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    throw std::runtime_error(std::string("cannot make the process undumpable: ") +
                             std::generic_category().message(errno));
  }
}

void remember_args(int argc, char** argv) {
  remembered_argc = argc;
  remembered_argv = argv;
}

bool hide_arg(std::string_view value) noexcept {
  bool found = false;
  for (int i = 1; i < remembered_argc; ++i) {
    char* arg = remembered_argv[i];
    if (arg != nullptr && std::string_view(arg) == value) {
      // volatile: the write must happen although nothing here reads it again.
      auto* bytes = reinterpret_cast<volatile char*>(arg);
      for (std::size_t k = 0; k < value.size(); ++k) {
        bytes[k] = '\0';
      }
      found = true;
    }
  }
  return found;
}

}  // namespace hush::process

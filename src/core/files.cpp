#include "core/files.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace hush::files {
namespace {

[[noreturn]] void fail(const std::filesystem::path& path, std::string_view what, int err) {
  throw std::runtime_error(path.string() + ": " + std::string(what) + ": " + std::strerror(err));
}

void fsync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    fail(path, "cannot read", errno);
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return std::move(buffer).str();
}

}  // namespace

std::string read_text(const std::filesystem::path& path) {
  return read_all(path);
}

secret_bytes read_secret(const std::filesystem::path& path) {
  std::string raw = read_all(path);
  auto bytes = secret_bytes::from_string(raw);
  secure_zero(raw.data(), raw.size());
  return bytes;
}

void write_new(const std::filesystem::path& path, std::string_view contents, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) {
    fail(path, "cannot create", errno);
  }
  // The umask may have narrowed the mode; set it exactly as asked.
  if (::fchmod(fd, mode) != 0) {
    const int err = errno;
    ::close(fd);
    fail(path, "cannot set mode", err);
  }
  std::size_t done = 0;
  while (done < contents.size()) {
    const auto n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      const int err = errno;
      ::close(fd);
      fail(path, "cannot write", err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    fail(path, "cannot sync", err);
  }
  ::close(fd);
  fsync_directory(path.parent_path());
}

void replace(const std::filesystem::path& path, std::string_view contents, mode_t mode) {
  auto temp = path;
  temp.replace_filename("." + path.filename().string() + ".new-" + std::to_string(::getpid()));
  ::unlink(temp.c_str());  // left by a crashed run of this same pid, if ever
  try {
    write_new(temp, contents, mode);
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    fail(path, "cannot replace", err);
  }
  fsync_directory(path.parent_path());
}

void require_private(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    fail(path, "cannot stat", errno);
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    throw std::runtime_error(path.string() + ": permissions " + mode +
                             " let group or others in; run chmod " +
                             (S_ISDIR(st.st_mode) ? "700" : "600") + " on it");
  }
  if (st.st_uid != ::geteuid()) {
    throw std::runtime_error(path.string() + ": owned by another user");
  }
}

}  // namespace hush::files

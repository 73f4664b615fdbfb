#include "core/files.hpp"

#include <cerrno>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/file.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace hush::files {
namespace {

[[noreturn]] void fail(const std::filesystem::path& path, std::string_view what, int err) {
  throw std::runtime_error(path.string() + ": " + std::string(what) + ": " +
                           std::generic_category().message(err));
}

void fsync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// Closes a descriptor when it goes out of scope.
class descriptor {
 public:
  explicit descriptor(int fd) : fd_(fd) {}
  descriptor(const descriptor&) = delete;
  descriptor& operator=(const descriptor&) = delete;
  ~descriptor() { ::close(fd_); }

 private:
  int fd_;
};

// Four octal digits, as chmod takes them.
std::string octal_permissions(mode_t mode) {
  std::string out(4, '0');
  auto bits = mode & 07777U;
  for (auto digit = out.rbegin(); digit != out.rend(); ++digit, bits >>= 3U) {
    *digit = static_cast<char>('0' + (bits & 7U));
  }
  return out;
}

// The permission and owner rules every private file and directory follows.
void check_private(const std::filesystem::path& path, const struct stat& st) {
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    throw std::runtime_error(path.string() + ": permissions " + octal_permissions(st.st_mode) +
                             " let group or others in; run chmod " +
                             (S_ISDIR(st.st_mode) ? "700" : "600") + " on it");
  }
  if (st.st_uid != ::geteuid()) {
    // Say who owns it and who runs hush, and both ways out: a key must be readable by its owner
    // alone, so hush never works around another owner.
    const auto owner = std::to_string(st.st_uid);
    const auto runner = std::to_string(::geteuid());
    throw std::runtime_error(path.string() + ": owned by uid " + owner + ", but hush runs as uid " +
                             runner + "; run hush as that user" +
                             (S_ISDIR(st.st_mode) ? " or chown -R " + runner + " " + path.string()
                                                  : " or chown " + runner + " " + path.string()));
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
  // O_NOFOLLOW: a link is refused, not followed. O_NONBLOCK: a FIFO put in the key's place
  // cannot hang the open; it is then refused as not a regular file. The checks below are made on
  // this descriptor, so what is checked is what is read.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ELOOP) {
      throw std::runtime_error(path.string() +
                               ": is a symbolic link; hush reads a private file only when it is "
                               "the file itself, not a link to one");
    }
    fail(path, "cannot open", errno);
  }
  const descriptor owner(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    fail(path, "cannot stat", errno);
  }
  if (!S_ISREG(st.st_mode)) {
    throw std::runtime_error(path.string() + ": not a regular file");
  }
  check_private(path, st);
  if (static_cast<std::uintmax_t>(st.st_size) > max_private_file_size) {
    throw std::runtime_error(path.string() + ": too large for a key (" +
                             std::to_string(st.st_size) + " bytes)");
  }
  secret_bytes bytes(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const auto n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      fail(path, "cannot read", errno);
    }
    if (n == 0) {
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  // A file that changed size while being read is not a key to trust.
  std::uint8_t extra = 0;
  if (done != bytes.size() || ::read(fd, &extra, 1) != 0) {
    throw std::runtime_error(path.string() + ": changed while being read");
  }
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
  // Appended rather than "." + name: gcc 12 at -O3 reports a false -Wrestrict on the latter.
  std::string temp_name = ".";
  temp_name += path.filename().string();
  temp_name += ".new-";
  temp_name += std::to_string(::getpid());
  auto temp = path;
  temp.replace_filename(temp_name);
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

void sync_directory(const std::filesystem::path& dir) {
  fsync_directory(dir);
}

void require_private(const std::filesystem::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    fail(path, "cannot stat", errno);
  }
  if (S_ISLNK(st.st_mode)) {
    // A club directory may live elsewhere (/var/lib/hush -> /srv/hush); its target is checked.
    if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      throw std::runtime_error(path.string() +
                               ": is a symbolic link; a private file must be the file itself");
    }
  }
  if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
    throw std::runtime_error(path.string() + ": not a regular file or directory");
  }
  check_private(path, st);
}

exclusive_lock::exclusive_lock(const std::filesystem::path& path, int fd) : fd_(fd) {
  if (fd_ < 0) {
    fail(path, "cannot open to lock", errno);
  }
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno != EINTR) {
      const int err = errno;
      ::close(fd_);
      fd_ = -1;
      fail(path, "cannot lock", err);
    }
  }
}

exclusive_lock exclusive_lock::on_directory(const std::filesystem::path& dir) {
  return {dir, ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
}

exclusive_lock exclusive_lock::on_file(const std::filesystem::path& file) {
  constexpr mode_t private_file = 0600;
  return {file, ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, private_file)};
}

std::optional<exclusive_lock> exclusive_lock::try_on_file(const std::filesystem::path& file,
                                                          mode how, mode_t create_mode) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT) {
    fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, create_mode);
  }
  if (fd < 0) {
    fail(file, "cannot open to lock", errno);
  }
  const int operation = (how == mode::shared ? LOCK_SH : LOCK_EX) | LOCK_NB;
  while (::flock(fd, operation) != 0) {
    const int err = errno;
    if (err == EINTR) {
      continue;
    }
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return std::nullopt;
    }
    fail(file, "cannot lock", err);
  }
  exclusive_lock held;
  held.fd_ = fd;
  return held;
}

exclusive_lock::exclusive_lock(exclusive_lock&& other) noexcept : fd_(other.fd_) {
  other.fd_ = -1;
}

exclusive_lock& exclusive_lock::operator=(exclusive_lock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

exclusive_lock::~exclusive_lock() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

scratch::~scratch() {
  if (!kept_) {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
}

}  // namespace hush::files

#include "app/master_key.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <system_error>
#include <termios.h>
#include <unistd.h>

#include "app/club_dir.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "crypto/encoding.hpp"
#include "crypto/envelope.hpp"
#include "crypto/passphrase.hpp"
#include "crypto/random.hpp"

namespace hush::app {
namespace {

constexpr std::string_view credentials_prefix = "$CREDENTIALS_DIRECTORY/";
// The associated data of a sealed master key: it opens as nothing else.
constexpr std::string_view sealed_key_context = "hush/sealed-master-key/v1";
constexpr mode_t private_file = 0600;
constexpr std::string_view pending_suffix = ".next";
constexpr std::size_t tag_bytes = 8;

// Names no other process picks: 64 random bits.
std::string random_tag() {
  return crypto::to_hex(crypto::random_bytes(tag_bytes).span());
}

// Turns terminal echo off for as long as it lives, when `fd` is a terminal: a passphrase typed
// at a prompt is not shown.
class echo_off {
 public:
  explicit echo_off(int fd) : fd_(fd) {
    if (::isatty(fd_) == 1 && ::tcgetattr(fd_, &saved_) == 0) {
      termios quiet = saved_;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      active_ = ::tcsetattr(fd_, TCSAFLUSH, &quiet) == 0;
    }
  }
  echo_off(const echo_off&) = delete;
  echo_off& operator=(const echo_off&) = delete;
  ~echo_off() {
    if (active_) {
      ::tcsetattr(fd_, TCSAFLUSH, &saved_);
      std::cerr << "\n";  // the newline the user typed was not echoed
    }
  }

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

secret_string read_line_from(int fd, const std::string& what) {
  // One fixed buffer, zeroed when it goes: never grown, so no copy of the passphrase is left in
  // freed memory. One byte more than the limit tells a line that is too long.
  secret_bytes buffer(max_passphrase_bytes + 1);
  std::size_t size = 0;
  {
    const echo_off quiet(fd);
    while (size < buffer.size()) {
      char c = 0;
      const ssize_t got = ::read(fd, &c, 1);
      if (got < 0 && errno == EINTR) {
        continue;
      }
      if (got <= 0 || c == '\n') {
        break;
      }
      buffer.data()[size++] = static_cast<std::uint8_t>(c);
    }
  }
  if (size > max_passphrase_bytes) {
    throw std::runtime_error(what + ": passphrase longer than " +
                             std::to_string(max_passphrase_bytes) + " bytes");
  }
  if (size > 0 && buffer.data()[size - 1] == '\r') {
    --size;
  }
  if (size < crypto::passphrase::min_passphrase_size) {
    throw std::runtime_error(what + ": passphrase must be at least " +
                             std::to_string(crypto::passphrase::min_passphrase_size) +
                             " characters (one line on standard input)");
  }
  // Built in place at its final size: no temporary string to leave behind.
  return secret_string(buffer.view().substr(0, size));
}

}  // namespace

std::filesystem::path master_key_path(const club_paths& paths, const config::config& cfg) {
  const std::string& configured = cfg.master_key_file;
  if (configured.empty()) {
    return paths.master_key();
  }
  if (configured.starts_with(credentials_prefix)) {
    const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
    if (dir == nullptr || *dir == '\0') {
      throw std::runtime_error(
          "keys.master_key_file names $CREDENTIALS_DIRECTORY, which is not set (run under "
          "systemd with LoadCredential=, or name the file itself)");
    }
    return std::filesystem::path(dir) / configured.substr(credentials_prefix.size());
  }
  return configured;
}

std::filesystem::path write_pending_key(const std::filesystem::path& key_file,
                                        std::span<const std::uint8_t> key,
                                        const passphrase_ptr& passphrase) {
  auto next = key_file;
  next += std::string(pending_suffix) + "-" + random_tag();
  try {
    write_master_key(next, key, passphrase);
  } catch (...) {
    // Ours (created exclusively), and half written.
    std::error_code ignored;
    std::filesystem::remove(next, ignored);
    throw;
  }
  return next;
}

std::vector<std::filesystem::path> pending_key_paths(const std::filesystem::path& key_file) {
  const auto dir = std::filesystem::absolute(key_file).parent_path();
  const auto legacy = key_file.filename().string() + std::string(pending_suffix);
  std::vector<std::filesystem::path> found;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    if (name == legacy || name.starts_with(legacy + "-")) {
      found.push_back(key_file.parent_path() / name);
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::filesystem::path temp_key_path(const std::filesystem::path& key_file) {
  auto temp = key_file;
  temp += ".new-" + random_tag();
  return temp;
}

bool is_sealed(const std::filesystem::path& key_file) {
  const auto bytes = files::read_secret(key_file);
  return crypto::passphrase::looks_sealed(bytes.span());
}

locked_bytes read_master_key(const std::filesystem::path& key_file,
                             const passphrase_ptr& passphrase) {
  const auto bytes = files::read_secret(key_file);
  return open_master_key(bytes.span(), passphrase, key_file.string());
}

locked_bytes open_master_key(std::span<const std::uint8_t> bytes, const passphrase_ptr& passphrase,
                             const std::string& what) {
  if (!crypto::passphrase::looks_sealed(bytes)) {
    if (bytes.size() != crypto::envelope::key_size) {
      throw std::runtime_error(what + ": not a " + std::to_string(crypto::envelope::key_size) +
                               "-byte key, nor a sealed one");
    }
    // Into locked memory at once; the caller's buffer is zeroed when it goes.
    return locked_bytes::copy_of(bytes);
  }
  if (!passphrase) {
    throw std::runtime_error(what +
                             ": the master key is sealed under a passphrase; start with hush "
                             "serve --unseal-stdin, or give the passphrase on the descriptor "
                             "named by HUSH_UNSEAL_FD");
  }
  auto opened = crypto::passphrase::open(passphrase->view(), bytes, sealed_key_context);
  if (!opened) {
    throw std::runtime_error(what + (opened.error() == errc::crypto_failure
                                         ? ": wrong passphrase (or the sealed key was altered)"
                                         : ": not a sealed master key hush can open"));
  }
  if (opened->size() != crypto::envelope::key_size) {
    throw std::runtime_error(what + ": the sealed value is not a master key");
  }
  return locked_bytes::copy_of(opened->span());
}

void write_master_key(const std::filesystem::path& key_file, std::span<const std::uint8_t> key,
                      const passphrase_ptr& passphrase) {
  if (!passphrase) {
    files::write_new(key_file, {reinterpret_cast<const char*>(key.data()), key.size()},
                     private_file);
    return;
  }
  auto sealed = crypto::passphrase::seal(passphrase->view(), key, sealed_key_context);
  if (!sealed) {
    throw std::runtime_error(key_file.string() +
                             ": cannot seal the master key: " + sealed.error().message());
  }
  files::write_new(key_file, {reinterpret_cast<const char*>(sealed->data()), sealed->size()},
                   private_file);
}

void rename_into_place(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    throw std::runtime_error(from.string() + ": cannot rename to " + to.string() + ": " +
                             std::error_code(errno, std::generic_category()).message());
  }
  // The rename is durable before anyone is told the rotation is done.
  files::sync_directory(to.parent_path());
}

passphrase_ptr passphrase_from_environment() {
  const char* fd_text = std::getenv("HUSH_UNSEAL_FD");
  if (fd_text == nullptr || *fd_text == '\0') {
    return nullptr;
  }
  char* end = nullptr;
  const long fd = std::strtol(fd_text, &end, 10);
  if (*end != '\0' || fd < 0 || fd > 1024) {
    throw std::runtime_error("HUSH_UNSEAL_FD must be a file descriptor number, not \"" +
                             std::string(fd_text) + "\"");
  }
  return std::make_shared<const secret_string>(
      read_line_from(static_cast<int>(fd), "HUSH_UNSEAL_FD"));
}

passphrase_ptr passphrase_from_stdin(const std::string& what) {
  return std::make_shared<const secret_string>(read_line_from(STDIN_FILENO, what));
}

}  // namespace hush::app

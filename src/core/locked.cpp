#include "core/locked.hpp"

#include <cstring>
#include <new>
#include <sys/mman.h>
#include <utility>

#include <sodium.h>

namespace hush {

locked_bytes::locked_bytes(std::size_t size) {
  if (size == 0) {
    return;
  }
  // sodium_malloc needs the library's page size and canary, which sodium_init sets up; calling
  // it again is cheap and thread safe.
  if (sodium_init() < 0) {
    throw std::bad_alloc();
  }
  auto* bytes = static_cast<std::uint8_t*>(sodium_malloc(size));
  if (bytes == nullptr) {
    throw std::bad_alloc();
  }
  std::memset(bytes, 0, size);
  data_ = bytes;
  size_ = size;
  // sodium_malloc has already tried mlock and ignored a refusal; asking again (mlock of locked
  // pages is a no-op) tells whether these bytes are really pinned.
  locked_ = ::mlock(data_, size_) == 0;
}

locked_bytes locked_bytes::copy_of(std::span<const std::uint8_t> bytes) {
  locked_bytes out(bytes.size());
  if (!bytes.empty()) {
    std::memcpy(out.data_, bytes.data(), bytes.size());
  }
  return out;
}

locked_bytes::locked_bytes(locked_bytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      locked_(std::exchange(other.locked_, false)) {}

locked_bytes& locked_bytes::operator=(locked_bytes&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    locked_ = std::exchange(other.locked_, false);
  }
  return *this;
}

locked_bytes::~locked_bytes() {
  release();
}

void locked_bytes::release() noexcept {
  if (data_ != nullptr) {
    // Zeroes, unlocks and unmaps, guard pages included.
    sodium_free(data_);
    data_ = nullptr;
    size_ = 0;
    locked_ = false;
  }
}

}  // namespace hush

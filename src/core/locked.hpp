#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace hush {

// Key material kept out of core dumps and swap: libsodium's guarded allocation (sodium_malloc),
// which places the bytes between inaccessible guard pages, marks them MADV_DONTDUMP and locks
// them in memory (mlock) when the limit allows; sodium_free zeroes them. Non-copyable, so a key
// is never duplicated into ordinary memory by accident; movable. Not thread safe.
class locked_bytes {
 public:
  locked_bytes() = default;
  // Zero-filled. Throws std::bad_alloc when no guarded allocation can be made.
  explicit locked_bytes(std::size_t size);
  static locked_bytes copy_of(std::span<const std::uint8_t> bytes);
  locked_bytes(const locked_bytes&) = delete;
  locked_bytes& operator=(const locked_bytes&) = delete;
  locked_bytes(locked_bytes&& other) noexcept;
  locked_bytes& operator=(locked_bytes&& other) noexcept;
  ~locked_bytes();

  std::uint8_t* data() noexcept { return data_; }
  const std::uint8_t* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::span<const std::uint8_t> span() const noexcept { return {data_, size_}; }
  std::span<std::uint8_t> writable() noexcept { return {data_, size_}; }
  // False when mlock was refused (RLIMIT_MEMLOCK): the bytes are still kept out of core dumps,
  // but could be swapped out.
  bool locked() const noexcept { return locked_; }

 private:
  void release() noexcept;

  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  bool locked_ = false;
};

}  // namespace hush

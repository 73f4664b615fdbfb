#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace hush::http {

// ACME HTTP-01 answers (RFC 8555 §8.3): the key authorization for each token a pending challenge
// published, set by the ACME client and read by the plain-HTTP listener. Thread safe. Beast stays
// out of this header: the composition root owns one.
class challenge_tokens {
 public:
  void set(std::string token, std::string key_authorization) {
    std::lock_guard lock(mutex_);
    answers_[std::move(token)] = std::move(key_authorization);
  }
  void erase(const std::string& token) {
    std::lock_guard lock(mutex_);
    answers_.erase(token);
  }
  std::optional<std::string> find(std::string_view token) const {
    std::lock_guard lock(mutex_);
    const auto found = answers_.find(token);
    if (found == answers_.end()) {
      return std::nullopt;
    }
    return found->second;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::string, std::less<>> answers_;
};

}  // namespace hush::http

#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace hush::club {

// What the store keeps of an API token and of a browser session's token: a hash under a label of
// its own, so that a token can never stand in for a session or the reverse.
std::array<std::uint8_t, 32> token_hash(std::string_view token);
std::array<std::uint8_t, 32> session_hash(std::string_view token);

}  // namespace hush::club

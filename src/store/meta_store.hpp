#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace hush::store {

// Small named values about the club itself (e.g. the master key's check), each written once.
// Thread safety, atomicity and errors: as every store interface (store.hpp).
class meta_store {
 public:
  virtual ~meta_store() = default;

  // not_found for a name never set.
  virtual result<std::vector<std::uint8_t>> club_meta(std::string_view name) = 0;
  // The first value set stays, whoever sets it first: setting a name again changes nothing and
  // is not an error (two processes initialising at once agree on one value).
  virtual result<void> set_club_meta_once(std::string_view name,
                                          std::span<const std::uint8_t> value) = 0;
};

}  // namespace hush::store

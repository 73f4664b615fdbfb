#pragma once

#include <string_view>

#include <boost/json/value.hpp>

#include "core/result.hpp"

namespace hush::http {

// Parses a request body as one JSON document (Boost.JSON's defaults: nesting at most 32 deep, no
// comments, nothing after the document). An object that names a key twice, at any depth, is
// errc::invalid_argument like any malformed text: Boost.JSON would keep the last of the two
// while another parser in front of hush might keep the first. Pure; thread safe.
result<boost::json::value> parse_json(std::string_view text);

}  // namespace hush::http

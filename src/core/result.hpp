#pragma once

#include <system_error>

#include <boost/system/result.hpp>

namespace hush {

// The data path returns values or error codes, never throws: result<T> holds one of the two.
template <class T>
using result = boost::system::result<T, std::error_code>;

}  // namespace hush

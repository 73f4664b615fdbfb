#pragma once

#include "http/handlers/handlers.hpp"
#include "http/types.hpp"

namespace hush::http {

// The whole HTTP surface in one table (router.cpp). Thread safe; blocks (Argon2, disk), so the
// server calls it on its worker pool.
class router {
 public:
  explicit router(services s) : services_(s) {}

  response handle(const request& req, const request_context& ctx);

 private:
  services services_;
};

}  // namespace hush::http

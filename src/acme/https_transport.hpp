#pragma once

#include <chrono>
#include <stop_token>
#include <string>

#include "acme/client.hpp"

namespace hush::acme {

// The client's way to the CA: HTTPS/1.1 with Boost.Beast, one connection per request (an order
// takes a dozen), the CA's certificate verified against the system's trust store plus
// `ca_bundle` when set (a private CA, or Pebble's in the tests), its name checked, every exchange
// (connect, handshake, request and reply together) bounded by `timeout`, replies bounded in size.
// The name is resolved by the system's resolver, whose own timeouts bound it.
class https_transport : public transport {
 public:
  // A stop request ends the exchange in flight (and refuses the next) at once.
  https_transport(std::string ca_bundle, std::stop_token stop,
                  std::chrono::seconds timeout = std::chrono::seconds(30));
  http_response exchange(std::string_view method, const std::string& url, const std::string& body,
                         std::string_view content_type) override;

 private:
  http_response exchange_once(std::string_view method, const std::string& url,
                              const std::string& body, std::string_view content_type);

  std::string ca_bundle_;
  std::stop_token stop_;
  std::chrono::seconds timeout_;
};

}  // namespace hush::acme

#pragma once

#include <memory>

#include <boost/asio/ip/tcp.hpp>

#include "net/server.hpp"

namespace hush::net {

// Serves one TLS connection: handshake, then requests one at a time (keep-alive), each read with a
// fresh parser under header and body limits and a deadline. Owns itself through shared_ptr: it
// lives while an asynchronous step is pending and goes when the connection ends.
void start_session(boost::asio::ip::tcp::socket socket, shared_state& state);

}  // namespace hush::net

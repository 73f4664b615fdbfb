#pragma once

#include <chrono>

#include <boost/asio/ip/tcp.hpp>

#include "config/config.hpp"

namespace hush::net {

struct shared_state;

// After refusing a request half-read, how long the connection keeps reading and dropping what
// still arrives before it closes (from each read on).
inline constexpr std::chrono::seconds default_linger_timeout{2};

// The deadlines a connection runs under: the configured ones in the server, short ones in tests.
struct session_deadlines {
  std::chrono::steady_clock::duration handshake;  // the TLS handshake, and the close_notify
  std::chrono::steady_clock::duration request;    // a request, from its first byte; a write
  std::chrono::steady_clock::duration idle;       // keep-alive, until the next request's first byte
  std::chrono::steady_clock::duration linger = default_linger_timeout;
};

session_deadlines deadlines_from(const config::config& cfg);

// Serves one TLS connection: handshake, then requests one at a time (keep-alive), each read with a
// fresh parser under header and body limits and a deadline. Owns itself through shared_ptr: it
// lives while an asynchronous step is pending and goes when the connection ends. The session
// itself is net::basic_session (basic_session.hpp), on any TLS stream; this is its form on a TCP
// socket, under net::tls_socket.
void start_session(boost::asio::ip::tcp::socket socket, shared_state& state);

}  // namespace hush::net

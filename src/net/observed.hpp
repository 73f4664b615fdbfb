#pragma once

#include <chrono>

namespace hush::net::observed {

// The connection-level metrics (docs/operations.md lists them); each is a few relaxed atomics.
void handshake(bool completed) noexcept;
void connection_opened() noexcept;
void connection_closed() noexcept;
// A request entered (+1) or left (-1) the queue for the hashing pool.
void hashing_queue(int delta) noexcept;
// How long a request waited in that queue before its Argon2id run began.
void hashing_waited(std::chrono::steady_clock::duration wait) noexcept;
// A read answered from memory on an I/O thread (http::router::serve_from_view) was sent
// (`stale` false), or was overtaken by a change before its audit committed and went to the store
// instead (`stale` true).
void read_from_memory(bool stale) noexcept;

}  // namespace hush::net::observed

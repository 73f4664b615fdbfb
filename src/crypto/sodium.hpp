#pragma once

namespace hush::crypto {

// Initialises libsodium once; safe to call from any thread, any number of times. Throws if the
// library cannot start (no entropy source), which only happens at startup.
void init();

}  // namespace hush::crypto

#pragma once

#include <filesystem>

#include <boost/asio/ssl/context.hpp>

namespace hush::net {

// The server's TLS settings: TLS 1.2 and 1.3 only; in 1.2, ECDHE key exchange with AEAD suites
// only (no CBC, no static RSA, no SHA-1 MACs); the server's order of suites; no compression, no
// renegotiation. Loads the certificate chain and key; throws std::runtime_error naming the file.
boost::asio::ssl::context make_server_context(const std::filesystem::path& cert_chain,
                                              const std::filesystem::path& private_key);

}  // namespace hush::net

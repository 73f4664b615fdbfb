#include "net/tls_socket.hpp"

#include <cerrno>
#include <sys/socket.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <climits>
#include <openssl/bio.h>
#include <openssl/err.h>

namespace hush::net {
namespace {

namespace asio = boost::asio;
using tls_detail::attempt;

// The BIO between OpenSSL and the socket. OpenSSL's own socket BIO (SSL_set_fd) writes with
// write(2), which raises SIGPIPE when the peer has gone, and the server does not ignore SIGPIPE;
// this one sends with MSG_NOSIGNAL, as Asio does. It also looks the descriptor up in the Asio
// socket at every call rather than keeping the number: once the socket is closed (a deadline), a
// late call fails with EBADF instead of reaching whatever connection reused the number.
asio::ip::tcp::socket& socket_of(BIO* bio) {
  return *static_cast<asio::ip::tcp::socket*>(BIO_get_data(bio));
}

bool would_block(int error) {
  return error == EAGAIN || error == EWOULDBLOCK || error == EINTR;
}

int bio_write(BIO* bio, const char* data, int size) {
  BIO_clear_retry_flags(bio);
  const auto sent =
      ::send(socket_of(bio).native_handle(), data, static_cast<std::size_t>(size), MSG_NOSIGNAL);
  if (sent < 0 && would_block(errno)) {
    BIO_set_retry_write(bio);
  }
  return static_cast<int>(sent);
}

int bio_read(BIO* bio, char* data, int size) {
  BIO_clear_retry_flags(bio);
  const auto got = ::recv(socket_of(bio).native_handle(), data, static_cast<std::size_t>(size), 0);
  if (got < 0 && would_block(errno)) {
    BIO_set_retry_read(bio);
  }
  // The end of the TCP stream is not reported as BIO_eof: OpenSSL 3 would then answer a peer that
  // has gone with a fatal alert. SSL_ERROR_SYSCALL without an errno tells it instead, which
  // attempt_of turns into stream_truncated, as Asio's stream reports a TCP end without
  // close_notify.
  return static_cast<int>(got);
}

long bio_ctrl(BIO* bio, int command, long, void* out) {
  switch (command) {
    case BIO_CTRL_FLUSH:
      return 1;           // nothing is buffered here
    case BIO_C_GET_FD: {  // SSL_get_fd
      const int fd = socket_of(bio).native_handle();
      if (out != nullptr) {
        *static_cast<int*>(out) = fd;
      }
      return fd;
    }
    default:
      return 0;
  }
}

const BIO_METHOD* socket_method() {
  static const BIO_METHOD* const method = [] {
    BIO_METHOD* made = BIO_meth_new(
        BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "hush socket");
    if (made == nullptr || BIO_meth_set_write(made, bio_write) != 1 ||
        BIO_meth_set_read(made, bio_read) != 1 || BIO_meth_set_ctrl(made, bio_ctrl) != 1) {
      BIO_meth_free(made);
      return static_cast<BIO_METHOD*>(nullptr);
    }
    return made;
  }();
  return method;
}

// What OpenSSL's answer to one call means, mapped as Asio's ssl engine maps it
// (boost/asio/ssl/detail/impl/engine.ipp), with the socket's own errors, which reach Asio through
// its next layer, as system errors. `result` is the call's return value, `saved_errno` the errno
// it left.
attempt attempt_of(SSL* ssl, int result, int saved_errno) {
  switch (SSL_get_error(ssl, result)) {
    case SSL_ERROR_NONE:
      return {attempt::want::nothing, {}, result > 0 ? static_cast<std::size_t>(result) : 0};
    case SSL_ERROR_WANT_READ:
      return {attempt::want::read, {}, 0};
    case SSL_ERROR_WANT_WRITE:
      return {attempt::want::write, {}, 0};
    case SSL_ERROR_ZERO_RETURN:
      return {attempt::want::nothing, asio::error::eof, 0};
    case SSL_ERROR_SYSCALL: {
      const auto queued = ERR_get_error();
      if (queued != 0) {
        return {
            attempt::want::nothing, {static_cast<int>(queued), asio::error::get_ssl_category()}, 0};
      }
      if (saved_errno != 0) {
        return {attempt::want::nothing, {saved_errno, asio::error::get_system_category()}, 0};
      }
      return {attempt::want::nothing, asio::ssl::error::stream_truncated, 0};
    }
    case SSL_ERROR_SSL: {
      const auto queued = ERR_get_error();
      // A TCP end without close_notify, should OpenSSL have seen it as one.
      if (ERR_GET_LIB(queued) == ERR_LIB_SSL &&
          ERR_GET_REASON(queued) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        return {attempt::want::nothing, asio::ssl::error::stream_truncated, 0};
      }
      return {
          attempt::want::nothing, {static_cast<int>(queued), asio::error::get_ssl_category()}, 0};
    }
    default:
      return {attempt::want::nothing, asio::ssl::error::unexpected_result, 0};
  }
}

// One OpenSSL call on `ssl`, with the error queue and errno cleared first (as Asio does), so that
// what is left after it is its own.
template <class Call>
attempt perform(SSL* ssl, Call&& call) {
  ERR_clear_error();
  errno = 0;
  const int result = call();
  const int saved_errno = errno;
  return attempt_of(ssl, result, saved_errno);
}

int clamp(std::size_t size) {
  return size < static_cast<std::size_t>(INT_MAX) ? static_cast<int>(size) : INT_MAX;
}

attempt closed() {
  return {attempt::want::nothing, asio::error::bad_descriptor, 0};
}

}  // namespace

tls_socket::tls_socket(next_layer_type socket, asio::ssl::context& context)
    : socket_(std::move(socket)), context_(context.native_handle()) {
  SSL_CTX_up_ref(context_);
}

tls_socket::~tls_socket() {
  if (ssl_ != nullptr) {
    SSL_free(ssl_);  // and its BIO
  }
  if (context_ != nullptr) {
    SSL_CTX_free(context_);
  }
}

boost::system::error_code tls_socket::make_ssl(asio::ssl::stream_base::handshake_type type) {
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  if (ec) {
    return ec;
  }
  const BIO_METHOD* method = socket_method();
  ERR_clear_error();
  SSL* ssl = method != nullptr ? SSL_new(context_) : nullptr;
  BIO* bio = ssl != nullptr ? BIO_new(method) : nullptr;
  if (bio == nullptr) {
    SSL_free(ssl);
    const auto queued = ERR_get_error();
    return queued != 0 ? boost::system::error_code(static_cast<int>(queued),
                                                   asio::error::get_ssl_category())
                       : boost::system::error_code(asio::error::no_memory);
  }
  BIO_set_data(bio, &socket_);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl, bio, bio);
  // Records are freed while idle whatever the context says (Asio's stream sets this too); and
  // OpenSSL reads what the socket holds in one call rather than a record header and then its
  // body, as nginx has it.
  SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
  SSL_set_read_ahead(ssl, 1);
  if (type == asio::ssl::stream_base::server) {
    SSL_set_accept_state(ssl);
  } else {
    SSL_set_connect_state(ssl);
  }
  ssl_ = ssl;
  SSL_CTX_free(context_);  // the SSL object holds the context now
  context_ = nullptr;
  return {};
}

attempt tls_socket::try_handshake(asio::ssl::stream_base::handshake_type type) {
  if (!socket_.is_open()) {
    return closed();
  }
  if (ssl_ == nullptr) {
    if (const auto ec = make_ssl(type)) {
      return {attempt::want::nothing, ec, 0};
    }
  }
  return perform(ssl_, [this] { return SSL_do_handshake(ssl_); });
}

attempt tls_socket::try_shutdown() {
  if (!socket_.is_open()) {
    return closed();
  }
  if (ssl_ == nullptr) {
    return {attempt::want::nothing, asio::error::not_connected, 0};
  }
  // As Asio: the first call sends close_notify (0: sent), the second waits for the peer's; and
  // the peer's close_notify, which a read reports as eof, is what a shutdown waits for.
  auto result = perform(ssl_, [this] {
    const int sent = SSL_shutdown(ssl_);
    return sent == 0 ? SSL_shutdown(ssl_) : sent;
  });
  if (result.ec == asio::error::eof) {
    result.ec = {};
  }
  return result;
}

attempt tls_socket::try_read(asio::mutable_buffer buffer) {
  if (buffer.size() == 0) {
    return {};
  }
  if (!socket_.is_open()) {
    return closed();
  }
  if (ssl_ == nullptr) {
    return {attempt::want::nothing, asio::error::not_connected, 0};
  }
  auto* data = static_cast<char*>(buffer.data());
  std::size_t got = 0;
  // One SSL_read yields one record at most; the records OpenSSL already holds (read ahead) are
  // taken too, without another system call. What stops the loop after some bytes (an error, a
  // wait) comes back at the next read.
  while (got < buffer.size()) {
    const auto one =
        perform(ssl_, [&] { return SSL_read(ssl_, data + got, clamp(buffer.size() - got)); });
    if (one.next != attempt::want::nothing || one.ec) {
      return got > 0 ? attempt{attempt::want::nothing, {}, got} : one;
    }
    got += one.bytes;
    if (SSL_has_pending(ssl_) == 0) {
      break;
    }
  }
  return {attempt::want::nothing, {}, got};
}

attempt tls_socket::try_write(asio::const_buffer buffer) {
  if (buffer.size() == 0) {
    return {};
  }
  if (!socket_.is_open()) {
    return closed();
  }
  if (ssl_ == nullptr) {
    return {attempt::want::nothing, asio::error::not_connected, 0};
  }
  // Without SSL_MODE_ENABLE_PARTIAL_WRITE, SSL_write returns only once all of it is written, and
  // a call it asked to be repeated is repeated here with the very same buffer, as it requires.
  return perform(ssl_, [&] { return SSL_write(ssl_, buffer.data(), clamp(buffer.size())); });
}

attempt tls_socket::try_readable() const {
  if (!socket_.is_open()) {
    return closed();
  }
  if (ssl_ != nullptr && SSL_has_pending(ssl_) == 1) {
    return {};
  }
  return {attempt::want::read, {}, 0};
}

}  // namespace hush::net

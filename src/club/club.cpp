#include "club/club.hpp"

#include <algorithm>

#include "club/credentials.hpp"
#include "core/error.hpp"
#include "crypto/credential.hpp"
#include "crypto/envelope.hpp"
#include "crypto/fernet.hpp"

namespace hush::club {

bool may_post(store::role r) noexcept {
  return r == store::role::poster || r == store::role::admin;
}

bool may_delete(store::role r) noexcept {
  return r == store::role::admin;
}

bool valid_member_name(std::string_view name) noexcept {
  constexpr std::size_t max_name_size = 64;
  if (name.empty() || name.size() > max_name_size) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

bool valid_utf8(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    std::uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1;
      code = c & 0x1fU;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      code = c & 0x0fU;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      code = c & 0x07U;
    } else {
      return false;
    }
    if (extra > text.size() - i - 1) {
      return false;
    }
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) {
        return false;
      }
      code = (code << 6) | (next & 0x3fU);
    }
    constexpr std::uint32_t smallest[] = {0, 0x80, 0x800, 0x10000};
    if (code < smallest[extra] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

std::string message_context(store::message_id id) {
  return "hush/message/" + std::to_string(id.value);
}

namespace {

void append_be(std::string& out, std::uint64_t value, int bytes) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

// The format's code in the version-2 context; a new format gets a new code, never a reused one.
std::uint8_t format_code(store::message_format f) {
  switch (f) {
    case store::message_format::text:
      return 1;
    case store::message_format::fernet:
      return 2;
  }
  return 0;
}

}  // namespace

std::string message_context(const store::message_summary& row) {
  // "hush/message/v2" NUL | id (8, big-endian) | created_at (8, big-endian two's complement) |
  // format (1) | author length (4, big-endian) | author. Fixed widths and one trailing
  // length-prefixed field: one encoding per row, and no author can imitate another field.
  std::string out("hush/message/v2");
  out.push_back('\0');
  append_be(out, static_cast<std::uint64_t>(row.id.value), 8);
  append_be(out, static_cast<std::uint64_t>(row.created_at), 8);
  out.push_back(static_cast<char>(format_code(row.format)));
  append_be(out, row.author.size(), 4);
  out.append(row.author);
  return out;
}

club::club(store::store& store, keyring& keys, const crypto::password_hasher& hasher,
           const clock& clock, std::size_t max_message_bytes)
    : store_(store),
      keys_(keys),
      hasher_(hasher),
      clock_(clock),
      max_message_bytes_(max_message_bytes) {}

result<store::message_id> club::post(std::string_view author, std::string_view body) {
  if (body.empty() || !valid_utf8(body)) {
    return make_error_code(errc::invalid_argument);
  }
  if (body.size() > max_message_bytes_) {
    return make_error_code(errc::too_large);
  }
  const std::span plain(reinterpret_cast<const std::uint8_t*>(body.data()), body.size());
  return add_sealed(author, store::message_format::text, plain);
}

result<store::message_id> club::add_sealed(std::string_view author, store::message_format format,
                                           std::span<const std::uint8_t> plain) {
  // Every door posts as a member: the API as the one it authenticated, the CLI as --author,
  // which must name one too.
  if (auto member = store_.find_member(author); !member) {
    return member.error();
  }
  const std::int64_t now = clock_.now_seconds();
  // The metadata goes into the associated data, so that a row whose author, time or format was
  // changed in the database no longer opens.
  return store_.add_message(author, now, format, [&](std::int64_t id) {
    const store::message_summary row{store::message_id{id}, std::string(author), now, format};
    return keys_.seal(plain, message_context(row), crypto::envelope::version_2);
  });
}

result<store::message_id> club::post_fernet(std::string_view author, std::string_view token) {
  if (!crypto::fernet::well_formed(token)) {
    return make_error_code(errc::invalid_argument);
  }
  if (token.size() > crypto::fernet::token_size(max_message_bytes_)) {
    return make_error_code(errc::too_large);
  }
  // Sealed at rest as well, bound to the row like a text body: the envelope hides even the
  // token's timestamp, and a token cannot be moved to another row unnoticed.
  const std::span sealed(reinterpret_cast<const std::uint8_t*>(token.data()), token.size());
  return add_sealed(author, store::message_format::fernet, sealed);
}

result<message> club::open_for(store::message_record record, std::string_view reader,
                               std::string_view remote) {
  auto version = crypto::envelope::version(record.sealed);
  const auto context = version && *version == crypto::envelope::version_1
                           ? message_context(record.id)
                           : message_context(store::message_summary{
                                 record.id, record.author, record.created_at, record.format});
  auto body = keys_.open(record.sealed, context);
  if (!body) {
    // crypto_failure: the row was changed (body, author, time or format) or the key is not this
    // club's. The caller tells the operator, never the reader.
    return body.error();
  }
  store::audit_record audit{clock_.now_seconds(), std::string(reader), record.id,
                            std::string(remote)};
  return message{record.id,     std::move(record.author), record.created_at, std::move(*body),
                 record.format, std::move(audit)};
}

result<message> club::read_newest(std::string_view reader, std::string_view remote) {
  auto record = store_.newest_message();
  if (!record) {
    return record.error();
  }
  return open_for(std::move(*record), reader, remote);
}

result<message> club::read(store::message_id id, std::string_view reader, std::string_view remote) {
  auto record = store_.message(id);
  if (!record) {
    return record.error();
  }
  return open_for(std::move(*record), reader, remote);
}

result<std::vector<store::message_summary>> club::list(std::optional<store::message_id> before,
                                                       std::size_t limit) {
  return store_.list_messages(before, limit);
}

result<void> club::remove(store::message_id id) {
  return store_.remove_message(id);
}

result<store::member_id> club::add_member(std::string_view name, store::role r,
                                          std::string_view password) {
  if (!valid_member_name(name) || password.size() < min_password_size ||
      password.size() > max_password_size) {
    return make_error_code(errc::invalid_argument);
  }
  auto hash = hasher_.hash(password);
  if (!hash) {
    return hash.error();
  }
  return store_.add_member(name, r, *hash, clock_.now_seconds());
}

result<void> club::set_password(std::string_view name, std::string_view password) {
  if (password.size() < min_password_size || password.size() > max_password_size) {
    return make_error_code(errc::invalid_argument);
  }
  auto hash = hasher_.hash(password);
  if (!hash) {
    return hash.error();
  }
  return store_.set_password_hash(name, *hash);
}

result<void> club::remove_member(std::string_view name) {
  return store_.remove_member(name, clock_.now_seconds());
}

result<std::size_t> club::prune_audit(unsigned keep_days, std::size_t batch) {
  if (keep_days == 0) {
    return std::size_t{0};
  }
  constexpr std::int64_t seconds_per_day = 86'400;
  return store_.prune_audit(clock_.now_seconds() - keep_days * seconds_per_day, batch);
}

result<secret_string> club::start_session(std::string_view member, store::session_limits limits) {
  secret_string token = crypto::new_token();
  if (auto added =
          store_.add_session(session_hash(token.view()), member, clock_.now_seconds(), limits);
      !added) {
    return added.error();
  }
  return token;
}

result<void> club::end_session(std::string_view token) {
  return store_.remove_session(session_hash(token));
}

}  // namespace hush::club

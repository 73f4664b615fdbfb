#include "club/message_context.hpp"

#include <cstdint>

#include "crypto/envelope.hpp"

namespace hush::club {

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
  // format (1) | author length (4, big-endian) | author [| 0x01 | expires_at (8) | max_reads
  // (4)]. Fixed widths and one length-prefixed field: one encoding per row, and no author can
  // imitate another field.
  std::string out("hush/message/v2");
  out.push_back('\0');
  append_be(out, static_cast<std::uint64_t>(row.id.value), 8);
  append_be(out, static_cast<std::uint64_t>(row.created_at), 8);
  out.push_back(static_cast<char>(format_code(row.format)));
  append_be(out, row.author.size(), 4);
  out.append(row.author);
  // A message's expiry and read limit, when it has either, after the author (whose length
  // prefix already fixes where it ends): a row whose life was lengthened in the database no
  // longer opens. Absent for a message without them, so every body sealed before still opens.
  // Recipients are not bound: a member who leaves is zeroed out of them, which must not make
  // the message unreadable for the rest.
  if (row.terms.expires_at != 0 || row.terms.max_reads != 0) {
    out.push_back('\x01');
    append_be(out, static_cast<std::uint64_t>(row.terms.expires_at), 8);
    append_be(out, row.terms.max_reads, 4);
  }
  return out;
}

std::string sealing_context(const store::message_record& row) {
  return message_context(
      store::message_summary{row.id, row.author, row.created_at, row.format, row.terms, 0, {}});
}

std::string message_context(const store::message_record& row) {
  auto version = crypto::envelope::version(row.sealed);
  return version && *version == crypto::envelope::version_1 ? message_context(row.id)
                                                            : sealing_context(row);
}

}  // namespace hush::club

#include "club/club.hpp"

#include <future>

#include "club/credentials.hpp"
#include "core/error.hpp"
#include "crypto/envelope.hpp"
#include "crypto/fernet.hpp"

namespace hush::club {
namespace {

// By the member id the store recorded at posting, never by name: a newcomer who takes the name of
// a member who left is not the author of their messages. The id is 0 once the author has left,
// and for messages posted before it was recorded; those are an admin's to manage.
bool is_author(const store::message_record& message, const store::member_record& member) {
  return message.author_id.value != 0 && message.author_id == member.id;
}

}  // namespace

club::club(store::store& store, keyring& keys, const crypto::password_hasher& hasher,
           const clock& clock, certificate_authority& ca, audit_sink& audits,
           std::size_t max_message_bytes)
    : store_(store),
      keys_(keys),
      hasher_(hasher),
      clock_(clock),
      ca_(ca),
      audits_(audits),
      max_message_bytes_(max_message_bytes) {}

result<store::message_id> club::post(std::string_view author, std::string_view body,
                                     const message_life& life) {
  if (body.empty() || !valid_utf8(body)) {
    return make_error_code(errc::invalid_argument);
  }
  if (body.size() > max_message_bytes_) {
    return make_error_code(errc::too_large);
  }
  const std::span plain(reinterpret_cast<const std::uint8_t*>(body.data()), body.size());
  return add_sealed(author, store::message_format::text, plain, life);
}

result<store::message_id> club::add_sealed(std::string_view author, store::message_format format,
                                           std::span<const std::uint8_t> plain,
                                           const message_life& life) {
  if (!life_problem(life).empty()) {
    return make_error_code(errc::invalid_argument);
  }
  // Every door posts as a member: the API as the one it authenticated, the CLI as --author,
  // which must name one too.
  if (auto member = store_.find_member(author); !member) {
    return member.error();
  }
  const std::int64_t now = clock_.now_seconds();
  store::message_terms terms;
  terms.expires_at = life.expires_in > 0 ? now + life.expires_in : 0;
  terms.max_reads = life.max_reads;
  for (const auto& word : life.to) {
    const auto parsed = parse_recipient(word);
    if (!parsed->is_role) {
      auto member = store_.find_member(parsed->name);
      if (!member) {
        return member.error();
      }
      terms.to.push_back(store::recipient::to_member(member->id));
    } else {
      terms.to.push_back(store::recipient::to_role(parsed->member_role));
    }
  }
  // The metadata goes into the associated data, so that a row whose author, time, format, expiry
  // or read limit was changed in the database no longer opens.
  return store_.add_message(
      author, now, format,
      [&](std::int64_t id) {
        store::message_summary row{store::message_id{id}, std::string(author), now, format};
        row.terms.expires_at = terms.expires_at;
        row.terms.max_reads = terms.max_reads;
        return keys_.seal(plain, message_context(row), crypto::envelope::version_2);
      },
      terms);
}

std::optional<std::string> club::unknown_recipient(const message_life& life) {
  for (const auto& word : life.to) {
    const auto parsed = parse_recipient(word);
    if (parsed && !parsed->is_role && !store_.find_member(parsed->name)) {
      return word;
    }
  }
  return std::nullopt;
}

result<store::message_id> club::post_fernet(std::string_view author, std::string_view token,
                                            const message_life& life) {
  if (!crypto::fernet::well_formed(token)) {
    return make_error_code(errc::invalid_argument);
  }
  if (token.size() > crypto::fernet::token_size(max_message_bytes_)) {
    return make_error_code(errc::too_large);
  }
  // Sealed at rest as well, bound to the row like a text body: the envelope hides even the
  // token's timestamp, and a token cannot be moved to another row unnoticed.
  const std::span sealed(reinterpret_cast<const std::uint8_t*>(token.data()), token.size());
  return add_sealed(author, store::message_format::fernet, sealed, life);
}

result<message> club::open_for(store::message_record record, std::string_view reader,
                               std::string_view remote) {
  auto body = keys_.open(record.sealed, message_context(record));
  if (!body) {
    // crypto_failure: the row was changed (body, author, time or format) or the key is not this
    // club's. The caller tells the operator, never the reader.
    return body.error();
  }
  owed_audit audit(store::audit_record{clock_.now_seconds(), std::string(reader), record.id,
                                       std::string(remote)});
  return message{record.id,     std::move(record.author), record.created_at,       std::move(*body),
                 record.format, std::move(audit),         std::move(record.terms), record.reads};
}

result<std::shared_ptr<const read_view>> club::load_view() {
  auto snapshot = store_.snapshot(clock_.now_seconds());
  if (!snapshot) {
    return snapshot.error();
  }
  // The newest message's data key unwrapped now, here, so that opening it from the view never
  // needs the store.
  if (snapshot->newest) {
    if (auto id = crypto::envelope::key_id(snapshot->newest->sealed); id) {
      [[maybe_unused]] auto loaded = keys_.load_key(*id);
    }
  }
  return std::make_shared<const read_view>(std::move(*snapshot));
}

result<message> club::read_newest(const read_view& view, std::string_view reader,
                                  std::string_view remote) {
  const auto& record = view.newest();
  // A message with terms (recipients, a read limit, an expiry) is never served from memory: who
  // may see it, whether a read is left and whether it is still alive are the store's to decide at
  // the read (the caller then takes the store's path).
  if (!record || record->terms.any()) {
    return make_error_code(errc::not_found);
  }
  auto body = keys_.open_loaded(record->sealed, message_context(*record));
  if (!body) {
    return body.error();
  }
  owed_audit audit(store::audit_record{clock_.now_seconds(), std::string(reader), record->id,
                                       std::string(remote)},
                   view.generation());
  return message{record->id,       record->author, record->created_at,
                 std::move(*body), record->format, std::move(audit)};
}

const store::member_record* club::member_by_token(const read_view& view, std::string_view token) {
  return view.member_by_token_hash(token_hash(token), clock_.now_seconds());
}

result<store::viewer> club::viewer_of(std::string_view reader) {
  auto member = store_.find_member(reader);
  if (!member) {
    return member.error();
  }
  return store::viewer{member->id, member->member_role, clock_.now_seconds()};
}

result<message> club::read_newest(std::string_view reader, std::string_view remote,
                                  read_options options) {
  auto who = viewer_of(reader);
  if (!who) {
    return who.error();
  }
  // A message with a read limit is claimed by id; when other readers used up its last read
  // between the lookup and the claim, the next newest is the reader's newest. Bounded: each
  // round means a message was burned meanwhile, and a reader gets not_found rather than a wait.
  constexpr int max_rounds = 8;
  for (int round = 0; round < max_rounds; ++round) {
    auto record = store_.newest_message(*who);
    if (!record) {
      return record.error();
    }
    if (options.fernet_only && record->format != store::message_format::fernet) {
      return make_error_code(errc::invalid_argument);
    }
    if (record->terms.max_reads == 0 || options.head_only) {
      return open_for(std::move(*record), reader, remote);
    }
    auto claimed = store_.claim_read(record->id, *who);
    if (claimed) {
      return open_for(std::move(*claimed), reader, remote);
    }
    if (claimed.error() != errc::not_found) {
      return claimed.error();
    }
    who->now = clock_.now_seconds();
  }
  return make_error_code(errc::not_found);
}

result<message> club::read(store::message_id id, std::string_view reader, std::string_view remote,
                           read_options options) {
  auto who = viewer_of(reader);
  if (!who) {
    return who.error();
  }
  if (options.fernet_only || options.head_only) {
    auto record = store_.message(id, *who);
    if (!record) {
      return record.error();
    }
    if (options.fernet_only && record->format != store::message_format::fernet) {
      return make_error_code(errc::invalid_argument);
    }
    if (options.head_only || record->terms.max_reads == 0) {
      return open_for(std::move(*record), reader, remote);
    }
  }
  // claim_read counts the read only when the message has a limit and the reader is not its
  // author; otherwise it is message(id, who) in the same transaction.
  auto record = store_.claim_read(id, *who);
  if (!record) {
    return record.error();
  }
  return open_for(std::move(*record), reader, remote);
}

result<message> club::read_as_operator(store::message_id id, std::string_view reader,
                                       std::string_view remote) {
  auto record = store_.message(id, clock_.now_seconds());
  if (!record) {
    return record.error();
  }
  return open_for(std::move(*record), reader, remote);
}

void club::commit_read(owed_audit audit, audit_sink::done_fn done) {
  const auto as_of = audit.as_of_;
  audits_.submit(std::move(audit.record_), as_of, std::move(done));
}

result<void> club::commit_read_now(owed_audit audit) {
  std::promise<std::error_code> committed;
  auto outcome = committed.get_future();
  commit_read(std::move(audit), [&committed](std::error_code ec) { committed.set_value(ec); });
  if (const auto ec = outcome.get()) {
    return ec;
  }
  return {};
}

result<std::vector<store::message_summary>> club::list(std::optional<store::message_id> before,
                                                       std::size_t limit) {
  return store_.list_messages(before, limit, clock_.now_seconds());
}

result<std::vector<store::message_summary>> club::list(std::optional<store::message_id> before,
                                                       std::size_t limit, std::string_view reader) {
  auto who = viewer_of(reader);
  if (!who) {
    return who.error();
  }
  return store_.list_messages(before, limit, *who);
}

result<club::seen_message> club::seen_by(store::message_id id, std::string_view by) {
  auto member = store_.find_member(by);
  if (!member) {
    return member.error();
  }
  auto found =
      store_.message(id, store::viewer{member->id, member->member_role, clock_.now_seconds()});
  if (!found) {
    return found.error();
  }
  return seen_message{std::move(*member), std::move(*found)};
}

result<std::vector<store::audit_record>> club::reads_of(store::message_id id, std::string_view by,
                                                        std::size_t limit) {
  // Only while the message exists, and only to those who may see it: who read a message to
  // others is theirs, an admin's included (the operator's reads_of has it all).
  auto seen = seen_by(id, by);
  if (!seen) {
    return seen.error();
  }
  if (seen->member.member_role != store::role::admin && !is_author(seen->message, seen->member)) {
    return make_error_code(errc::forbidden);
  }
  return store_.reads_of(id, limit);
}

result<std::vector<store::audit_record>> club::reads_of(store::message_id id, std::size_t limit) {
  return store_.reads_of(id, limit);
}

result<std::size_t> club::sweep_expired(std::size_t batch) {
  return store_.remove_expired(clock_.now_seconds(), batch);
}

result<void> club::remove(store::message_id id) {
  return store_.remove_message(id);
}

result<void> club::remove(store::message_id id, std::string_view by) {
  // Only a message they can see (one they cannot is not_found, as if it did not exist), admins
  // included: a message to others is not theirs to find out about. The operator's remove(id)
  // reaches every message.
  auto seen = seen_by(id, by);
  if (!seen) {
    return seen.error();
  }
  if (!may_delete(seen->member.member_role, is_author(seen->message, seen->member))) {
    return make_error_code(errc::forbidden);
  }
  return store_.remove_message(id);
}

result<void> club::check_store() {
  // An indexed read through the same pool as every request; the name need not exist.
  if (auto read = store_.club_meta("health"); !read && read.error() != errc::not_found) {
    return read.error();
  }
  return {};
}

}  // namespace hush::club

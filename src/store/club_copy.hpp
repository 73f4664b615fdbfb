#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/result.hpp"

namespace hush::store {

// A whole club copied from one store to another (hush migrate): every row of every table the
// club's data lives in, ids included (a sealed body is bound to its message's id, a data key's id
// is named by the bodies sealed under it), and the marks that only grow.

enum class column_kind { integer, text, bytes };
using copy_value = std::variant<std::int64_t, std::string, std::vector<std::uint8_t>>;
using copy_row = std::vector<copy_value>;

struct copy_column {
  const char* name;
  column_kind kind;
};

struct copy_table {
  const char* name;
  std::vector<copy_column> columns;
  // Read in batches by the integer `id` (the first column), else all at once by the first column.
  bool by_id;
};

// The tables a copy carries, in an order their references allow (members before the tokens and
// sessions that name them). Not the change generation (each store has its own), nor the
// guessing throttle's counts.
const std::vector<copy_table>& copy_tables();

// A query (the same in both stores' SQL) for the number of rows in all of copy_tables(): an
// import goes only into a store where it is 0.
const char* copy_rows_sql();

// What a copy must carry beyond the rows: the highest message id ever handed out (removed ones
// included: an id never names two messages) and the CRL number (it only grows).
struct copy_marks {
  std::int64_t message_ids = 0;
  std::int64_t crl_number = 0;
};

// Where an export hands its rows, a batch at a time, table by table in copy_tables()' order.
class copy_sink {
 public:
  copy_sink() = default;
  copy_sink(const copy_sink&) = delete;
  copy_sink& operator=(const copy_sink&) = delete;
  virtual ~copy_sink() = default;
  virtual result<void> rows(const copy_table& table, std::span<const copy_row> rows) = 0;
};

// A store a club can be copied out of and into. Both block (never on an I/O thread).
class club_copy {
 public:
  club_copy() = default;
  club_copy(const club_copy&) = delete;
  club_copy& operator=(const club_copy&) = delete;
  virtual ~club_copy() = default;

  // Hands every row of copy_tables() to `sink`, all read in one consistent snapshot, then
  // returns the marks as of that snapshot.
  virtual result<copy_marks> export_club(copy_sink& sink) = 0;
  // In one transaction: `fill` gets a sink that inserts what it is given, and returns the marks,
  // which are applied (never lowering this store's own); then all of it commits, or nothing.
  // already_exists, with nothing written, unless this store holds no row of copy_tables().
  virtual result<void> import_club(const std::function<result<copy_marks>(copy_sink&)>& fill) = 0;
};

}  // namespace hush::store

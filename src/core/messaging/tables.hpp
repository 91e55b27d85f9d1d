// The SQL of one service's outbox and inbox (db: <schema>.outbox, <schema>.inbox).
#pragma once

#include <string>
#include <vector>

#include "core/pg.hpp"

namespace flashtix::core::messaging {

// The relay counts its backlog up to this many rows: a count of the whole backlog after a long broker
// outage would read every row of it.
inline constexpr int kMaxBacklogCounted = 10'000;

// The SQL is fixed text with the schema name in it; the names come from code, never from input.
class Tables {
 public:
  explicit Tables(std::string schema);
  const std::string& schema() const { return schema_; }
  // Statements a service puts in its own transactions.
  // $1 type, $2 correlation id, $3 payload (JSON text): one outbox row.
  const pg::Query& insert_outbox() const { return insert_outbox_; }
  // $1 message id, $2 type: the inbox row; returns a row only when the message is new.
  const pg::Query& insert_inbox() const { return insert_inbox_; }
  const pg::Query& inbox_contains() const { return inbox_contains_; }
  // Used by the relay.
  const pg::Query& select_unpublished() const { return select_unpublished_; }
  const pg::Query& mark_published() const { return mark_published_; }
  // For core::keep_tables_trimmed: $1 rows at most, oldest first.
  const pg::Query& prune_published() const { return prune_published_; }
  const pg::Query& prune_inbox() const { return prune_inbox_; }
  // For the relay's metrics: depth (counted up to kMaxBacklogCounted) and lag (seconds) of the
  // unpublished rows.
  const pg::Query& outbox_backlog() const { return outbox_backlog_; }

 private:
  std::string schema_;
  std::vector<std::string> names_;  // storage for the queries' names and text
  std::vector<std::string> sql_;
  pg::Query insert_outbox_, insert_inbox_, inbox_contains_, select_unpublished_, mark_published_, prune_published_,
      prune_inbox_, outbox_backlog_;
};

}  // namespace flashtix::core::messaging

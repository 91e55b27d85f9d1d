// Tables that would only grow (inboxes, published outbox rows, answered Idempotency-Keys, ...) lose their
// old rows: every interval, each rule deletes the rows past its retention, a bounded batch per statement
// and a bounded number of batches per round, so that pruning keeps up with any write rate without ever
// holding long locks.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/pg.hpp"

namespace flashtix::core {

struct RetentionRule {
  std::string what;  // for the log: "orders.inbox"
  // Deletes at most $1 rows past the retention, oldest first; its row count is what it deleted.
  pg::Query prune;
};

struct RetentionLimits {
  std::chrono::milliseconds interval{60'000};
  int batch = 10'000;              // rows one statement deletes at most
  int max_batches_per_round = 100;  // statements per rule and round at most
};

// The options of the services that prune, and their limits.
std::vector<ConfigOption> retention_options();
RetentionLimits retention_limits_from(const Config& config);

// Runs until the event loop stops; a failed round is logged and tried again at the next interval.
boost::asio::awaitable<void> keep_tables_trimmed(pg::Pool* db, std::vector<RetentionRule> rules,
                                                 RetentionLimits limits);

}  // namespace flashtix::core

// The inbox's two steps: the early look, and the claim that commits with the effect.
#include "core/messaging/inbox.hpp"

#include "core/metrics.hpp"

namespace flashtix::core::messaging {

namespace asio = boost::asio;
using pg::params;
using pg::Result;
using pg::Statement;

namespace {

// A message the inbox had already: a redelivery, absorbed.
void count_duplicate(const Tables* tables) {
  metrics::counter("flashtix_inbox_duplicates_total", "Messages found in the inbox already, and dropped",
                   {{"schema", tables->schema()}})
      .Increment();
}

}  // namespace

asio::awaitable<bool> already_handled(pg::Pool* db, const Tables* tables, std::string message_id) {
  const Result rows = co_await db->exec(tables->inbox_contains(), params(message_id));
  if (!rows.empty()) count_duplicate(tables);
  co_return !rows.empty();
}

asio::awaitable<std::optional<std::vector<Result>>> handle_once(pg::Pool* db, const Tables* tables, Message message,
                                                                std::vector<Statement> effect) {
  pg::Lease lease = co_await db->acquire();
  std::vector<Statement> claim;
  claim.push_back({&pg::kBegin, {}});
  claim.push_back({&tables->insert_inbox(), params(message.id, message.type)});
  const std::vector<Result> claimed = co_await lease->pipeline(std::move(claim));
  if (claimed[1].empty()) {
    // A concurrent delivery of the same message waited on our row and found it there: nothing to do.
    count_duplicate(tables);
    co_await lease->exec(pg::kRollback, {});
    co_return std::nullopt;
  }
  effect.push_back({&pg::kCommit, {}});
  std::vector<Result> results = co_await lease->pipeline(std::move(effect));
  results.pop_back();
  co_return results;
}

}  // namespace flashtix::core::messaging

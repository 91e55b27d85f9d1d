// The pruning loop shared by the services.
#include "core/retention.hpp"

#include "core/log.hpp"
#include "core/periodic.hpp"

namespace flashtix::core {

namespace asio = boost::asio;

namespace {

// One rule, in rounds: until a batch comes back short or the round's budget is spent.
asio::awaitable<std::int64_t> trim(pg::Pool* db, RetentionRule rule, RetentionLimits limits) {
  std::int64_t deleted = 0;
  for (int batch = 0; batch < limits.max_batches_per_round; ++batch) {
    const pg::Result done = co_await db->exec(rule.prune, pg::params(limits.batch));
    deleted += done.affected();
    if (done.affected() < limits.batch) break;
  }
  co_return deleted;
}

// Each rule on its own: one that fails does not keep the others from their round.
asio::awaitable<void> trim_all(pg::Pool* db, const std::vector<RetentionRule>* rules, RetentionLimits limits) {
  for (const RetentionRule& rule : *rules) {
    try {
      const std::int64_t deleted = co_await trim(db, rule, limits);
      if (deleted > 0) log_info("pruned ", deleted, " old rows of ", rule.what);
    } catch (const std::exception& e) {
      log_warn("pruning ", rule.what, " failed, trying again later: ", e.what());
    }
  }
}

}  // namespace

std::vector<ConfigOption> retention_options() {
  return {{"retention-interval-ms", "60000", "how often rows past their retention (inbox, outbox, keys) are pruned"}};
}

RetentionLimits retention_limits_from(const Config& config) {
  RetentionLimits limits;
  limits.interval = std::chrono::milliseconds(config.get_int("retention-interval-ms", 10, 24 * 3600 * 1000));
  return limits;
}

asio::awaitable<void> keep_tables_trimmed(pg::Pool* db, std::vector<RetentionRule> rules, RetentionLimits limits) {
  Periodic every{.interval = limits.interval, .failed = "pruning failed, trying again later: "};
  const std::vector<RetentionRule>* each = &rules;
  co_await run_periodically(std::move(every), [db, each, limits] { return trim_all(db, each, limits); });
}

}  // namespace flashtix::core

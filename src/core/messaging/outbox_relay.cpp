// The relay's loop: publish a batch under one confirm wait, mark it published, and pause on failures.
#include "core/messaging/outbox_relay.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/log.hpp"
#include "core/messaging/envelope.hpp"
#include "core/metrics.hpp"
#include "core/periodic.hpp"

namespace flashtix::core::messaging {

namespace asio = boost::asio;
using pg::params;
using pg::Result;
using pg::Statement;

namespace {

// Rows one relay round publishes under one confirm wait.
constexpr int kRelayBatch = 200;
constexpr std::chrono::milliseconds kRelayPollInterval{200};
constexpr std::chrono::milliseconds kConfirmTimeout{10'000};
constexpr std::chrono::milliseconds kFirstReconnectPause{100};
constexpr std::chrono::milliseconds kMaxReconnectPause{3000};
// The outbox's backlog is measured at most this often.
constexpr std::chrono::milliseconds kBacklogInterval{1000};

}  // namespace

OutboxRelay::OutboxRelay(amqp::BrokerSettings broker, const Tables* tables, pg::PoolOptions db)
    : broker_settings_(std::move(broker)),
      tables_(tables),
      published_(&metrics::counter("flashtix_outbox_published_total", "Outbox rows published and confirmed",
                                   {{"schema", tables->schema()}})),
      depth_(&metrics::gauge("flashtix_outbox_depth",
                             "Outbox rows waiting to be published (counted up to " +
                                 std::to_string(kMaxBacklogCounted) + ")",
                             {{"schema", tables->schema()}})),
      lag_(&metrics::gauge("flashtix_outbox_lag_seconds", "Age of the oldest outbox row waiting to be published",
                           {{"schema", tables->schema()}})) {
  // The relay talks to the broker only when it has something to publish, so it could not keep up
  // heartbeats; instead it reads its idle connection every round (Connection::pump) to notice a close.
  broker_settings_.heartbeat = std::chrono::seconds(0);
  db.max_connections = 1;  // one batch at a time
  db_ = std::make_unique<pg::Pool>(io_.get_executor(), std::move(db));
}

OutboxRelay::~OutboxRelay() { stop(); }

void OutboxRelay::start() {
  asio::co_spawn(io_, run(), LogIfFailed{"outbox relay " + tables_->schema()});
  thread_ = std::thread([this] { io_.run(); });
}

void OutboxRelay::stop() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

void OutboxRelay::wake() { doorbell_.ring(); }

asio::awaitable<void> OutboxRelay::run() {
  // Unpublished rows stay in the outbox; the next round after the pause publishes them. A plain timer after
  // a failure, not the doorbell: during an outage every new order would ring it.
  Drain drain{.name = "outbox relay (" + tables_->schema() + ")",
              .interval = kRelayPollInterval,
              .doorbell = &doorbell_,
              .after_failure = Backoff(kFirstReconnectPause, kMaxReconnectPause)};
  co_await run_draining(std::move(drain), [this] { return publish_round(); });
}

asio::awaitable<bool> OutboxRelay::publish_round() {
  std::size_t published = 0;
  std::optional<std::string> failure;
  try {
    if (!broker_) {
      broker_ = std::make_unique<amqp::Connection>(broker_settings_);
      broker_->enable_confirms();
      connected_ = true;
    }
    published = co_await publish_batch();
    if (published == 0) broker_->pump();
  } catch (const amqp::BrokerUnavailable& e) {
    broker_.reset();
    connected_ = false;
    failure = std::string("broker: ") + e.what();
  } catch (const pg::Unavailable& e) {
    failure = std::string("database: ") + e.what();
  } catch (const pg::Error& e) {
    failure = std::string("database: ") + e.what();
  } catch (const std::exception& e) {
    broker_.reset();
    connected_ = false;
    failure = e.what();
  }
  co_await measure_backlog();
  if (failure) throw std::runtime_error(*failure);
  co_return published == static_cast<std::size_t>(kRelayBatch);
}

asio::awaitable<void> OutboxRelay::measure_backlog() {
  const auto now = std::chrono::steady_clock::now();
  if (now - backlog_measured_at_ < kBacklogInterval) co_return;
  backlog_measured_at_ = now;
  try {
    const Result rows = co_await db_->exec(tables_->outbox_backlog(), {});
    depth_->Set(static_cast<double>(rows.integer(0, "depth")));
    lag_->Set(std::stod(std::string(rows.text(0, "lag"))));
  } catch (const std::exception&) {
    // The database is away: the gauges keep their last values; the relay reports the outage itself.
  }
}

asio::awaitable<std::size_t> OutboxRelay::publish_batch() {
  pg::Lease lease = co_await db_->acquire();
  std::vector<Statement> select;
  select.push_back({&pg::kBegin, {}});
  select.push_back({&tables_->select_unpublished(), params(kRelayBatch)});
  const std::vector<Result> selected = co_await lease->pipeline(std::move(select));
  const Result& rows = selected[1];
  if (rows.empty()) {
    co_await lease->exec(pg::kRollback, {});
    co_return 0;
  }
  // The rows stay locked until the broker has confirmed them all; on any failure the transaction rolls
  // back and they are published again (consumers' inboxes absorb the duplicates).
  std::string published_seqs = "{";
  for (int i = 0; i < rows.rows(); ++i) {
    Message message;
    message.id = std::string(rows.text(i, "message_id"));
    message.type = std::string(rows.text(i, "type"));
    message.correlation_id = std::string(rows.text(i, "correlation_id"));
    message.occurred_at_ms = rows.integer(i, "occurred_at_ms");
    message.payload = json::parse(rows.text(i, "payload")).as_object();
    const std::string traceparent = rows.is_null(i, "traceparent") ? std::string() : std::string(rows.text(i, "traceparent"));
    broker_->publish(amqp::OutgoingMessage{message.id, message.type, message.correlation_id,
                                           message.occurred_at_ms / 1000, json::serialize(to_json(message)),
                                           traceparent});
    if (i > 0) published_seqs += ",";
    published_seqs += rows.text(i, "seq");
  }
  published_seqs += "}";
  broker_->wait_for_confirms(kConfirmTimeout);
  std::vector<Statement> mark;
  mark.push_back({&tables_->mark_published(), params(published_seqs)});
  mark.push_back({&pg::kCommit, {}});
  co_await lease->pipeline(std::move(mark));
  published_->Increment(static_cast<double>(rows.rows()));
  log_debug("outbox relay (", tables_->schema(), ") published ", rows.rows(), " events");
  co_return static_cast<std::size_t>(rows.rows());
}

}  // namespace flashtix::core::messaging

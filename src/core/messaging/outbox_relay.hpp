// The outbox relay. A service never publishes from a request: it inserts an outbox row in the
// transaction that changes its state, and the relay publishes unpublished rows with publisher confirms,
// marking them published only after the broker has them, so a broker outage delays events but loses none.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <thread>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include "core/amqp.hpp"
#include "core/doorbell.hpp"
#include "core/messaging/tables.hpp"
#include "core/pg.hpp"

namespace flashtix::core::messaging {

// Publishes a service's outbox from a thread of its own (its own loop, database connection and broker
// connection). Several instances may run: each takes rows with FOR UPDATE SKIP LOCKED.
class OutboxRelay {
 public:
  OutboxRelay(amqp::BrokerSettings broker, const Tables* tables, pg::PoolOptions db);
  ~OutboxRelay();
  OutboxRelay(const OutboxRelay&) = delete;
  OutboxRelay& operator=(const OutboxRelay&) = delete;

  void start();
  void stop();
  // Something was just committed to the outbox: publish now rather than at the next poll. Any thread.
  void wake();
  bool connected() const { return connected_; }

 private:
  boost::asio::awaitable<void> run();
  // One batch published; whether it was full. Throws what kept it from publishing.
  boost::asio::awaitable<bool> publish_round();
  boost::asio::awaitable<std::size_t> publish_batch();
  // Sets the backlog gauges, at most once a second.
  boost::asio::awaitable<void> measure_backlog();

  amqp::BrokerSettings broker_settings_;
  const Tables* tables_;
  prometheus::Counter* published_;
  prometheus::Gauge* depth_;
  prometheus::Gauge* lag_;
  std::chrono::steady_clock::time_point backlog_measured_at_{};
  // Declared before what uses it so that it is destroyed after (as in core::Worker).
  boost::asio::io_context io_{1};
  std::unique_ptr<pg::Pool> db_;
  Doorbell doorbell_{io_.get_executor()};
  std::unique_ptr<amqp::Connection> broker_;
  std::atomic<bool> connected_{false};
  std::thread thread_;
};

}  // namespace flashtix::core::messaging

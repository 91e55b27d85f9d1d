// Events between services: the envelope every message carries, the transactional outbox and its relay,
// the inbox that makes a consumer's effect happen once, and the consumer loop.
//
// A service never publishes from a request. It inserts an outbox row in the transaction that changes
// its state; the relay publishes unpublished rows with publisher confirms and marks them published only
// after the broker has them, so a broker outage delays events but loses none. A consumer records the
// message id in its inbox in the transaction of the effect, so a redelivery has no second effect.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include "core/amqp.hpp"
#include "core/config.hpp"
#include "core/doorbell.hpp"
#include "core/pg.hpp"

namespace flashtix::core::messaging {

namespace json = boost::json;

// The event types; each is also its routing key.
inline constexpr std::string_view kOrderCreated = "order.created";
inline constexpr std::string_view kOrderConfirmed = "order.confirmed";
inline constexpr std::string_view kOrderCancelled = "order.cancelled";
inline constexpr std::string_view kOrderExpired = "order.expired";
inline constexpr std::string_view kPaymentSucceeded = "payment.succeeded";
inline constexpr std::string_view kPaymentFailed = "payment.failed";
inline constexpr std::string_view kPaymentRefunded = "payment.refunded";
// A hold voided by the documented reset of its event (inventory's outbox, from the reset's trigger).
inline constexpr std::string_view kHoldVoided = "hold.voided";

// The service that publishes an event type ("orders", "payments", "inventory"); nothing for a type no
// service publishes. A consumer acts only on a message that the owner's broker user published.
std::optional<std::string_view> event_owner(std::string_view type);
// The broker user of a service: "flashtix-<service>". Every service logs in as its own, and the broker
// stamps what it publishes with it (the validated AMQP user_id).
std::string broker_user(std::string_view service);

// One event as it travels: {"id", "type", "occurred_at", "correlation_id", "payload"}.
struct Message {
  std::string id;  // a UUID, unique per event: the inbox key
  std::string type;
  std::int64_t occurred_at_ms = 0;
  std::string correlation_id;  // the order id
  json::object payload;
  // Deliveries before this one (0 on the first); the broker dead-letters past amqp::kMaxDeliveries.
  std::int64_t delivery_count = 0;
  // The W3C trace context it travelled with (the order's trace); empty when it had none.
  std::string traceparent;
};

json::object to_json(const Message& message);
// Reads a message body; nothing when it is not a well-formed envelope.
std::optional<Message> parse_message(std::string_view body);

// A message that can never be handled (a field missing or of the wrong type): dead-lettered at once
// rather than retried.
class InvalidMessage : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// Typed payload fields; throw InvalidMessage when absent or of another type.
std::string payload_string(const Message& message, std::string_view field);
std::int64_t payload_int(const Message& message, std::string_view field);
std::optional<std::string> payload_optional_string(const Message& message, std::string_view field);

// The options of every service that talks to the broker; the URL's default names the service's user.
std::vector<ConfigOption> broker_options(std::string_view service);
// Throws std::invalid_argument unless the URL is usable and logs in as broker_user(service).
amqp::BrokerSettings broker_settings_from(const Config& config, std::string_view service);

// The outbox and inbox of one service's schema (db: <schema>.outbox, <schema>.inbox).
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
  // For the relay's metrics: depth (counted up to a bound) and lag (seconds) of the unpublished rows.
  const pg::Query& outbox_backlog() const { return outbox_backlog_; }

 private:
  std::string schema_;
  std::vector<std::string> names_;  // storage for the queries' names and text
  std::vector<std::string> sql_;
  pg::Query insert_outbox_, insert_inbox_, inbox_contains_, select_unpublished_, mark_published_, prune_published_,
      prune_inbox_, outbox_backlog_;
};

// True when this message id is already in the inbox: a cheap early exit before side effects.
boost::asio::awaitable<bool> already_handled(pg::Pool* db, const Tables* tables, std::string message_id);

// Runs `effect` and the inbox row in one transaction. Nothing (and nothing changed) when the message
// was handled before; otherwise the effect's results.
boost::asio::awaitable<std::optional<std::vector<pg::Result>>> handle_once(pg::Pool* db, const Tables* tables,
                                                                           Message message,
                                                                           std::vector<pg::Statement> effect);

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

// Handles one message on a worker's loop. Returning means done (acked); throwing InvalidMessage
// dead-letters it; pg::Unavailable, a transient pg::Error or PeerUnavailable (an outage) retries it in
// place with backoff until it passes; any other exception returns it to the queue, up to the delivery
// limit. A handler may therefore run more than once for one message: its effect goes through the inbox.
using Handler = std::function<boost::asio::awaitable<void>(Message message, std::size_t worker)>;

// Takes messages from one queue on a thread of its own and runs each handler on a worker's loop
// (round-robin), at most `prefetch` at once; acks go back to the broker from the consumer thread.
// A message that is unreadable, or was not published by the broker user of its type's owner (another
// user, or no user_id at all: a forgery), never reaches the handler: it is dead-lettered at once.
class Consumer {
 public:
  Consumer(amqp::BrokerSettings broker, std::string queue, int prefetch,
           std::vector<boost::asio::any_io_executor> workers, Handler handler);
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  void start();
  void stop();
  bool connected() const { return connected_; }

 private:
  enum class Settlement { ack, retry, dead_letter };  // also the index of settled_
  struct Done {
    std::uint64_t generation;
    std::uint64_t delivery_tag;
    Settlement settlement;
  };
  void run();
  void settle_finished(amqp::Connection& connection);
  // Sets the dead-letter gauge, at most every few seconds, over a connection of its own.
  void measure_dead_letters();
  void dispatch(const amqp::Delivery& delivery, amqp::Connection& connection);
  static boost::asio::awaitable<void> handle(Consumer* self, std::uint64_t generation, std::uint64_t delivery_tag,
                                             Message message, std::size_t worker);
  void finished(Done done);

  amqp::BrokerSettings broker_settings_;
  std::string queue_;
  int prefetch_;
  std::vector<boost::asio::any_io_executor> workers_;
  Handler handler_;
  std::size_t next_worker_ = 0;
  // One per broker connection: delivery tags are only good on theirs. Read by handlers on worker threads.
  std::atomic<std::uint64_t> generation_{0};
  std::mutex done_mutex_;
  std::vector<Done> done_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> connected_{false};
  prometheus::Counter* redeliveries_;
  prometheus::Gauge* dead_letter_depth_;
  std::array<prometheus::Counter*, 3> settled_{};
  // The consumer thread's own: the inspecting connection and when it last looked.
  std::unique_ptr<amqp::Connection> inspector_;
  std::chrono::steady_clock::time_point dead_letters_measured_at_{};
  std::thread thread_;
};

}  // namespace flashtix::core::messaging

// A blocking AMQP 0-9-1 connection (rabbitmq-c) with one channel: the topology every service declares,
// publishing with publisher confirms, and consuming with manual acks. One thread owns a connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct amqp_connection_state_t_;

namespace flashtix::core::amqp {

// The broker cannot be reached, refused us, or closed the connection or channel: reconnect and retry.
class BrokerUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The exchange every event goes through; its routing key is the event's type, e.g. "order.created".
inline constexpr std::string_view kEventsExchange = "flashtix.events";
// Where a queue's messages go once they fail past their retry budget; routing key is the queue name.
inline constexpr std::string_view kDeadLetterExchange = "flashtix.dead-letter";
// Deliveries of one message before the broker gives up on it and dead-letters it.
inline constexpr int kMaxDeliveries = 30;

// The queue of a consuming service: "orders" -> "flashtix.orders".
std::string queue_of(std::string_view service);

// One consuming service's queue and the event types bound to it.
struct QueueSpec {
  std::string name;
  std::vector<std::string_view> event_types;
};

// The whole topology, declared by every connection: the queues exist before the first event is
// published, whichever service starts first, so nothing is dropped as unroutable. Derived from the
// event contract (core/events.hpp): a queue for each consuming service, bound to the types it consumes.
const std::vector<QueueSpec>& queues();
// "flashtix.payments" -> "flashtix.payments.dead"
std::string dead_letter_queue(std::string_view queue);

// Throws std::invalid_argument naming the problem unless `url` is an amqp:// URL rabbitmq-c can use.
void check_url(const std::string& url);
// The user an amqp:// URL logs in as: its user, or rabbitmq-c's default ("guest") when it names none.
std::string url_user(const std::string& url);
// The URL with its password shown as "***": what logs and error messages may show.
std::string url_for_logs(std::string_view url);

struct BrokerSettings {
  std::string url;  // amqp://user:password@host:port/vhost
  std::chrono::milliseconds connect_timeout{3000};
  // The broker closes a connection that misses two beats; 0 turns beats off.
  std::chrono::seconds heartbeat{10};
  // Whether the connection declares the whole topology at once; off for one that only looks at it.
  bool declare_topology = true;
};

// What one published message carries on the wire besides its body.
struct OutgoingMessage {
  std::string message_id;
  std::string type;  // also the routing key
  std::string correlation_id;
  std::int64_t timestamp_s = 0;
  std::string body;  // JSON
  std::string traceparent;  // the W3C trace context of what caused it, as an AMQP header; empty: none
};

struct Delivery {
  std::uint64_t delivery_tag = 0;
  // The publisher's AMQP user_id, which the broker checks against the publishing connection's login;
  // nothing when the message carries none.
  std::optional<std::string> user_id;
  bool redelivered = false;
  // Earlier deliveries of this message, as the broker counts them (quorum queues' x-delivery-count).
  std::int64_t delivery_count = 0;
  std::string routing_key;
  std::string body;
  std::string traceparent;  // its `traceparent` header, as sent; empty when it has none
};

class Connection {
 public:
  // Connects, logs in, opens channel 1 and declares the topology. Throws BrokerUnavailable.
  explicit Connection(const BrokerSettings& settings);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Publishing: confirms on, then publish, then wait until the broker has taken every message.
  void enable_confirms();
  // Stamps the message with this connection's user as its user_id, which the broker validates, so a
  // consumer can tell which service published it.
  void publish(const OutgoingMessage& message);
  // Blocks until every message published so far is confirmed; throws BrokerUnavailable on a nack,
  // a closed channel or when `timeout` passes.
  void wait_for_confirms(std::chrono::milliseconds timeout);

  // Messages ready in `queue` (a passive declare: the queue must exist). For a connection that does not
  // consume, so that no delivery arrives in the middle of the answer.
  std::int64_t queue_depth(std::string_view queue);

  // Consuming: at most `prefetch` unacknowledged messages at once, acked by hand.
  void consume(std::string_view queue, int prefetch);
  // Reads what the broker sent meanwhile without waiting; throws BrokerUnavailable when it closed the
  // connection. For a connection that is otherwise idle.
  void pump();

  // The next delivery, or nothing when `timeout` passes first.
  std::optional<Delivery> next_delivery(std::chrono::milliseconds timeout);
  void ack(std::uint64_t delivery_tag);
  // requeue: back to the queue for another try; otherwise dead-lettered at once.
  void nack(std::uint64_t delivery_tag, bool requeue);

 private:
  // The last declaration's (or other synchronous call's) answer: throws BrokerUnavailable on failure.
  void check_reply(const char* what);
  void declare_topology();

  amqp_connection_state_t_* state_ = nullptr;
  std::string user_;  // the login, stamped on every message published
  std::uint64_t published_ = 0;  // delivery tags of published messages run 1..published_
  std::uint64_t confirmed_ = 0;  // every tag up to here is confirmed
  std::vector<std::uint64_t> confirmed_out_of_order_;
};

}  // namespace flashtix::core::amqp

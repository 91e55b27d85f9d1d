// The envelope every event travels in, {"id", "type", "occurred_at", "correlation_id", "payload"}, read
// and written; the payload inside is one of the contract's (core/events.hpp).
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace flashtix::core::messaging {

namespace json = boost::json;

// One event as it travels.
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

}  // namespace flashtix::core::messaging

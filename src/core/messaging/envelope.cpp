// The envelope's JSON, with the bounds a consumer checks before it trusts any field.
#include "core/messaging/envelope.hpp"

#include <boost/json/parse.hpp>

#include "core/time.hpp"
#include "core/uuid.hpp"

namespace flashtix::core::messaging {

namespace {

constexpr std::size_t kMaxTypeLength = 64;
constexpr std::size_t kMaxCorrelationIdLength = 128;

const json::value* member(const json::object& object, std::string_view name) { return object.if_contains(name); }

}  // namespace

json::object to_json(const Message& message) {
  return json::object{{"id", message.id},
                      {"type", message.type},
                      {"occurred_at", rfc3339_from_unix_ms(message.occurred_at_ms)},
                      {"correlation_id", message.correlation_id},
                      {"payload", message.payload}};
}

std::optional<Message> parse_message(std::string_view body) {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) return std::nullopt;
  const json::object& object = value.get_object();
  const json::value* id = member(object, "id");
  const json::value* type = member(object, "type");
  const json::value* occurred_at = member(object, "occurred_at");
  const json::value* correlation_id = member(object, "correlation_id");
  const json::value* payload = member(object, "payload");
  if (!id || !id->is_string() || !is_uuid(id->get_string())) return std::nullopt;
  if (!type || !type->is_string() || type->get_string().empty() || type->get_string().size() > kMaxTypeLength) {
    return std::nullopt;
  }
  if (!correlation_id || !correlation_id->is_string() || correlation_id->get_string().size() > kMaxCorrelationIdLength) {
    return std::nullopt;
  }
  if (!occurred_at || !occurred_at->is_string() || !payload || !payload->is_object()) return std::nullopt;
  const auto occurred_at_ms = unix_ms_from_rfc3339(occurred_at->get_string());
  if (!occurred_at_ms) return std::nullopt;
  Message message;
  message.id = std::string(id->get_string());
  message.type = std::string(type->get_string());
  message.occurred_at_ms = *occurred_at_ms;
  message.correlation_id = std::string(correlation_id->get_string());
  message.payload = payload->get_object();
  return message;
}

}  // namespace flashtix::core::messaging

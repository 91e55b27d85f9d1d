// rabbitmq-c behind a small class: every failure becomes BrokerUnavailable, and the caller reconnects.
#include "core/amqp.hpp"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <sys/time.h>

#include <algorithm>
#include <array>

#include "core/events.hpp"

namespace flashtix::core::amqp {

namespace {

constexpr amqp_channel_t kChannel = 1;
constexpr int kFrameMaxBytes = 131072;

amqp_bytes_t bytes(std::string_view text) { return amqp_bytes_t{text.size(), const_cast<char*>(text.data())}; }

std::string text(amqp_bytes_t value) { return std::string(static_cast<const char*>(value.bytes), value.len); }

timeval to_timeval(std::chrono::milliseconds duration) {
  const auto ms = std::max<std::int64_t>(duration.count(), 0);
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

std::optional<std::int64_t> integer_field(const amqp_field_value_t& value) {
  switch (value.kind) {
    case AMQP_FIELD_KIND_I8: return value.value.i8;
    case AMQP_FIELD_KIND_U8: return value.value.u8;
    case AMQP_FIELD_KIND_I16: return value.value.i16;
    case AMQP_FIELD_KIND_U16: return value.value.u16;
    case AMQP_FIELD_KIND_I32: return value.value.i32;
    case AMQP_FIELD_KIND_U32: return value.value.u32;
    case AMQP_FIELD_KIND_I64: return value.value.i64;
    case AMQP_FIELD_KIND_U64: return static_cast<std::int64_t>(value.value.u64);
    default: return std::nullopt;
  }
}

std::int64_t delivery_count(const amqp_basic_properties_t& properties) {
  if (!(properties._flags & AMQP_BASIC_HEADERS_FLAG)) return 0;
  for (int i = 0; i < properties.headers.num_entries; ++i) {
    const amqp_table_entry_t& entry = properties.headers.entries[i];
    if (text(entry.key) == "x-delivery-count") return integer_field(entry.value).value_or(0);
  }
  return 0;
}

// A text header of the message; empty when absent or not text.
std::string text_header(const amqp_basic_properties_t& properties, std::string_view name) {
  if (!(properties._flags & AMQP_BASIC_HEADERS_FLAG)) return {};
  for (int i = 0; i < properties.headers.num_entries; ++i) {
    const amqp_table_entry_t& entry = properties.headers.entries[i];
    if (text(entry.key) == name && (entry.value.kind == AMQP_FIELD_KIND_UTF8 || entry.value.kind == AMQP_FIELD_KIND_BYTES)) {
      return text(entry.value.value.bytes);
    }
  }
  return {};
}

[[noreturn]] void closed_by_broker(const char* what, std::uint32_t method_id, const void* decoded) {
  std::string reason = "the broker closed the connection";
  if (method_id == AMQP_CONNECTION_CLOSE_METHOD && decoded != nullptr) {
    const auto* close = static_cast<const amqp_connection_close_t*>(decoded);
    reason += " (" + std::to_string(close->reply_code) + " " + text(close->reply_text) + ")";
  } else if (method_id == AMQP_CHANNEL_CLOSE_METHOD && decoded != nullptr) {
    const auto* close = static_cast<const amqp_channel_close_t*>(decoded);
    reason = "the broker closed the channel (" + std::to_string(close->reply_code) + " " + text(close->reply_text) + ")";
  }
  throw BrokerUnavailable(std::string("cannot ") + what + ": " + reason);
}


// Turns an RPC reply into nothing (success) or BrokerUnavailable.
void check(const amqp_rpc_reply_t& reply, const char* what) {
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      throw BrokerUnavailable(std::string("cannot ") + what + ": " + amqp_error_string2(reply.library_error));
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      closed_by_broker(what, reply.reply.id, reply.reply.decoded);
    case AMQP_RESPONSE_NONE:
    default:
      throw BrokerUnavailable(std::string("cannot ") + what + ": no answer from the broker");
  }
}

}  // namespace

std::string queue_of(std::string_view service) { return "flashtix." + std::string(service); }

const std::vector<QueueSpec>& queues() {
  static const std::vector<QueueSpec> kQueues = [] {
    std::vector<QueueSpec> specs;
    for (std::string_view service : events::consuming_services()) {
      specs.push_back({queue_of(service), events::consumed_by(service)});
    }
    return specs;
  }();
  return kQueues;
}

std::string dead_letter_queue(std::string_view queue) { return std::string(queue) + ".dead"; }

void check_url(const std::string& url) {
  std::string copy = url;  // amqp_parse_url writes into its argument
  amqp_connection_info info;
  amqp_default_connection_info(&info);
  if (amqp_parse_url(copy.data(), &info) != AMQP_STATUS_OK) {
    throw std::invalid_argument("the broker URL '" + url_for_logs(url) +
                                "' is not an amqp://user:password@host:port/vhost URL");
  }
  if (info.ssl) throw std::invalid_argument("the broker URL '" + url_for_logs(url) + "': amqps:// is not supported");
}

std::string url_user(const std::string& url) {
  std::string copy = url;  // amqp_parse_url writes into its argument
  amqp_connection_info info;
  amqp_default_connection_info(&info);
  if (amqp_parse_url(copy.data(), &info) != AMQP_STATUS_OK) {
    throw std::invalid_argument("the broker URL '" + url_for_logs(url) + "' is not an amqp:// URL");
  }
  return info.user;
}

std::string url_for_logs(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  const std::size_t authority_begin = scheme_end + 3;
  const std::string_view authority = url.substr(authority_begin, url.find('/', authority_begin) - authority_begin);
  // The last '@' ends the user information; a ':' before it starts the password.
  const std::size_t at = authority.rfind('@');
  const std::size_t colon = authority.find(':');
  if (at == std::string_view::npos || colon == std::string_view::npos || colon > at) return std::string(url);
  return std::string(url.substr(0, authority_begin + colon + 1)) + "***" +
         std::string(url.substr(authority_begin + at));
}

Connection::Connection(const BrokerSettings& settings) {
  std::string url = settings.url;  // amqp_parse_url writes into its argument
  amqp_connection_info info;
  amqp_default_connection_info(&info);
  if (amqp_parse_url(url.data(), &info) != AMQP_STATUS_OK) {
    throw std::invalid_argument("the broker URL '" + url_for_logs(settings.url) + "' is not an amqp:// URL");
  }
  user_ = info.user;
  // "amqp://host:5672/" names the empty vhost by the letter of the spec, but people mean the default one.
  if (info.vhost == nullptr || *info.vhost == '\0') info.vhost = const_cast<char*>("/");
  state_ = amqp_new_connection();
  amqp_socket_t* socket = amqp_tcp_socket_new(state_);
  if (socket == nullptr) {
    amqp_destroy_connection(state_);
    throw BrokerUnavailable("cannot create a socket for the broker");
  }
  const std::string where = std::string(info.host) + ":" + std::to_string(info.port);
  const timeval timeout = to_timeval(settings.connect_timeout);
  const int status = amqp_socket_open_noblock(socket, info.host, info.port, &timeout);
  if (status != AMQP_STATUS_OK) {
    amqp_destroy_connection(state_);
    throw BrokerUnavailable("cannot connect to the broker at " + where + ": " + amqp_error_string2(status));
  }
  // Declarations and other calls that wait for an answer get the same deadline as the connect.
  amqp_set_rpc_timeout(state_, &timeout);
  try {
    const amqp_rpc_reply_t login = amqp_login(state_, info.vhost, 0, kFrameMaxBytes,
                                              static_cast<int>(settings.heartbeat.count()), AMQP_SASL_METHOD_PLAIN,
                                              info.user, info.password);
    check(login, "log in to the broker");
    amqp_channel_open(state_, kChannel);
    check_reply("open a channel");
    if (settings.declare_topology) declare_topology();
  } catch (const BrokerUnavailable&) {
    amqp_destroy_connection(state_);
    throw;
  }
}

Connection::~Connection() {
  // A polite close so the broker requeues our unacknowledged messages at once; bounded by the rpc timeout.
  amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(state_);
}

void Connection::check_reply(const char* what) { check(amqp_get_rpc_reply(state_), what); }

void Connection::declare_topology() {
  amqp_exchange_declare(state_, kChannel, bytes(kEventsExchange), bytes("topic"), 0, 1, 0, 0, amqp_empty_table);
  check_reply("declare the events exchange");
  amqp_exchange_declare(state_, kChannel, bytes(kDeadLetterExchange), bytes("direct"), 0, 1, 0, 0, amqp_empty_table);
  check_reply("declare the dead-letter exchange");
  for (const QueueSpec& queue : queues()) {
    const std::string dead = dead_letter_queue(queue.name);
    amqp_queue_declare(state_, kChannel, bytes(dead), 0, 1, 0, 0, amqp_empty_table);
    check_reply("declare a dead-letter queue");
    amqp_queue_bind(state_, kChannel, bytes(dead), bytes(kDeadLetterExchange), bytes(queue.name), amqp_empty_table);
    check_reply("bind a dead-letter queue");

    // Quorum queues are replicated, survive restarts, and count deliveries: past the limit the broker
    // dead-letters a message instead of handing it out forever.
    std::array<amqp_table_entry_t, 4> arguments{};
    arguments[0].key = bytes("x-queue-type");
    arguments[0].value.kind = AMQP_FIELD_KIND_UTF8;
    arguments[0].value.value.bytes = bytes("quorum");
    arguments[1].key = bytes("x-delivery-limit");
    arguments[1].value.kind = AMQP_FIELD_KIND_I32;
    arguments[1].value.value.i32 = kMaxDeliveries;
    arguments[2].key = bytes("x-dead-letter-exchange");
    arguments[2].value.kind = AMQP_FIELD_KIND_UTF8;
    arguments[2].value.value.bytes = bytes(kDeadLetterExchange);
    arguments[3].key = bytes("x-dead-letter-routing-key");
    arguments[3].value.kind = AMQP_FIELD_KIND_UTF8;
    arguments[3].value.value.bytes = bytes(queue.name);
    const amqp_table_t table{static_cast<int>(arguments.size()), arguments.data()};
    amqp_queue_declare(state_, kChannel, bytes(queue.name), 0, 1, 0, 0, table);
    check_reply("declare a queue");
    for (std::string_view type : queue.event_types) {
      amqp_queue_bind(state_, kChannel, bytes(queue.name), bytes(kEventsExchange), bytes(type), amqp_empty_table);
      check_reply("bind a queue");
    }
  }
}

void Connection::enable_confirms() {
  amqp_confirm_select(state_, kChannel);
  check_reply("turn on publisher confirms");
}

void Connection::publish(const OutgoingMessage& message) {
  amqp_basic_properties_t properties{};
  properties._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG |
                      AMQP_BASIC_TYPE_FLAG | AMQP_BASIC_CORRELATION_ID_FLAG | AMQP_BASIC_TIMESTAMP_FLAG |
                      AMQP_BASIC_USER_ID_FLAG;
  properties.content_type = bytes("application/json");
  properties.delivery_mode = AMQP_DELIVERY_PERSISTENT;  // written to disk before the confirm
  properties.message_id = bytes(message.message_id);
  properties.type = bytes(message.type);
  properties.correlation_id = bytes(message.correlation_id);
  properties.timestamp = static_cast<std::uint64_t>(message.timestamp_s);
  // The broker refuses a user_id other than the login ("validated user id"), so this names the publisher.
  properties.user_id = bytes(user_);
  // The trace of what caused the event travels with it (W3C Trace Context's AMQP mapping names it so).
  amqp_table_entry_t trace_header{};
  if (!message.traceparent.empty()) {
    trace_header.key = bytes("traceparent");
    trace_header.value.kind = AMQP_FIELD_KIND_UTF8;
    trace_header.value.value.bytes = bytes(message.traceparent);
    properties._flags |= AMQP_BASIC_HEADERS_FLAG;
    properties.headers = amqp_table_t{1, &trace_header};
  }
  const int status = amqp_basic_publish(state_, kChannel, bytes(kEventsExchange), bytes(message.type), 0, 0,
                                        &properties, bytes(message.body));
  if (status != AMQP_STATUS_OK) {
    throw BrokerUnavailable(std::string("cannot publish: ") + amqp_error_string2(status));
  }
  ++published_;
}

void Connection::wait_for_confirms(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (confirmed_ < published_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw BrokerUnavailable("the broker did not confirm the messages in time");
    const timeval wait = to_timeval(left);
    amqp_frame_t frame;
    const int status = amqp_simple_wait_frame_noblock(state_, &frame, &wait);
    if (status == AMQP_STATUS_TIMEOUT) continue;
    if (status != AMQP_STATUS_OK) {
      throw BrokerUnavailable(std::string("lost the broker waiting for confirms: ") + amqp_error_string2(status));
    }
    if (frame.frame_type != AMQP_FRAME_METHOD) continue;
    const amqp_method_number_t id = frame.payload.method.id;
    if (id == AMQP_BASIC_NACK_METHOD) throw BrokerUnavailable("the broker refused a message (nack)");
    if (id == AMQP_CHANNEL_CLOSE_METHOD || id == AMQP_CONNECTION_CLOSE_METHOD) {
      closed_by_broker("publish", id, frame.payload.method.decoded);
    }
    if (id != AMQP_BASIC_ACK_METHOD) continue;
    const auto* ack = static_cast<const amqp_basic_ack_t*>(frame.payload.method.decoded);
    if (ack->multiple) {
      confirmed_ = std::max(confirmed_, ack->delivery_tag);
    } else {
      confirmed_out_of_order_.push_back(ack->delivery_tag);
    }
    // Single acks may come out of order: advance past every tag confirmed so far.
    for (bool advanced = true; advanced;) {
      auto next = std::find(confirmed_out_of_order_.begin(), confirmed_out_of_order_.end(), confirmed_ + 1);
      advanced = next != confirmed_out_of_order_.end();
      if (advanced) {
        ++confirmed_;
        confirmed_out_of_order_.erase(next);
      }
    }
    std::erase_if(confirmed_out_of_order_, [this](std::uint64_t tag) { return tag <= confirmed_; });
  }
  amqp_maybe_release_buffers(state_);
}

void Connection::pump() {
  const timeval no_wait{0, 0};
  for (;;) {
    amqp_frame_t frame;
    const int status = amqp_simple_wait_frame_noblock(state_, &frame, &no_wait);
    if (status == AMQP_STATUS_TIMEOUT) return;
    if (status != AMQP_STATUS_OK) throw BrokerUnavailable(std::string("lost the broker: ") + amqp_error_string2(status));
    if (frame.frame_type != AMQP_FRAME_METHOD) continue;
    const amqp_method_number_t id = frame.payload.method.id;
    if (id == AMQP_CHANNEL_CLOSE_METHOD || id == AMQP_CONNECTION_CLOSE_METHOD) {
      closed_by_broker("stay connected", id, frame.payload.method.decoded);
    }
  }
}

std::int64_t Connection::queue_depth(std::string_view queue) {
  const amqp_queue_declare_ok_t* declared =
      amqp_queue_declare(state_, kChannel, bytes(queue), 1, 0, 0, 0, amqp_empty_table);
  check_reply("read a queue's depth");
  return declared == nullptr ? 0 : static_cast<std::int64_t>(declared->message_count);
}

void Connection::consume(std::string_view queue, int prefetch) {
  amqp_basic_qos(state_, kChannel, 0, static_cast<std::uint16_t>(prefetch), 0);
  check_reply("set the prefetch count");
  amqp_basic_consume(state_, kChannel, bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
  check_reply("start consuming");
}

std::optional<Delivery> Connection::next_delivery(std::chrono::milliseconds timeout) {
  amqp_maybe_release_buffers(state_);
  const timeval wait = to_timeval(timeout);
  amqp_envelope_t envelope;
  const amqp_rpc_reply_t reply = amqp_consume_message(state_, &envelope, &wait, 0);
  if (reply.reply_type == AMQP_RESPONSE_NORMAL) {
    Delivery delivery;
    delivery.delivery_tag = envelope.delivery_tag;
    delivery.redelivered = envelope.redelivered != 0;
    delivery.delivery_count = delivery_count(envelope.message.properties);
    if (envelope.message.properties._flags & AMQP_BASIC_USER_ID_FLAG) {
      delivery.user_id = text(envelope.message.properties.user_id);
    }
    delivery.routing_key = text(envelope.routing_key);
    delivery.body = text(envelope.message.body);
    delivery.traceparent = text_header(envelope.message.properties, "traceparent");
    amqp_destroy_envelope(&envelope);
    return delivery;
  }
  if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && reply.library_error == AMQP_STATUS_TIMEOUT) {
    return std::nullopt;
  }
  if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && reply.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
    // Something other than a delivery arrived: a close or a cancel ends this connection, the rest is noise.
    amqp_frame_t frame;
    const int status = amqp_simple_wait_frame(state_, &frame);
    if (status != AMQP_STATUS_OK) throw BrokerUnavailable(std::string("lost the broker: ") + amqp_error_string2(status));
    if (frame.frame_type == AMQP_FRAME_METHOD) {
      const amqp_method_number_t id = frame.payload.method.id;
      if (id == AMQP_CHANNEL_CLOSE_METHOD || id == AMQP_CONNECTION_CLOSE_METHOD) {
        closed_by_broker("consume", id, frame.payload.method.decoded);
      }
      if (id == AMQP_BASIC_CANCEL_METHOD) throw BrokerUnavailable("the broker cancelled the consumer");
    }
    return std::nullopt;
  }
  if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
    throw BrokerUnavailable(std::string("lost the broker: ") + amqp_error_string2(reply.library_error));
  }
  throw BrokerUnavailable("lost the broker while waiting for messages");
}

void Connection::ack(std::uint64_t delivery_tag) {
  const int status = amqp_basic_ack(state_, kChannel, delivery_tag, 0);
  if (status != AMQP_STATUS_OK) throw BrokerUnavailable(std::string("cannot ack: ") + amqp_error_string2(status));
}

void Connection::nack(std::uint64_t delivery_tag, bool requeue) {
  const int status = amqp_basic_nack(state_, kChannel, delivery_tag, 0, requeue ? 1 : 0);
  if (status != AMQP_STATUS_OK) throw BrokerUnavailable(std::string("cannot nack: ") + amqp_error_string2(status));
}

}  // namespace flashtix::core::amqp

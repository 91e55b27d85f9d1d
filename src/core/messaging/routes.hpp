// A consumer's route table: one visible list of (event type, handler), as core/router is for HTTP. A
// message is decoded once, into its type's struct from the contract (core/events.hpp), and its handler
// gets the struct; no handler reads a payload field by name.
//
//   const core::messaging::EventRoutes<Orders> kRoutes{"orders", {
//       core::messaging::on<events::PaymentSucceeded, on_payment_succeeded>(),
//       core::messaging::on<events::HoldVoided, on_hold_voided>(),
//   }};
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_to.hpp>
#include <algorithm>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/events.hpp"
#include "core/messaging/envelope.hpp"
#include "core/messaging/inbox.hpp"

namespace flashtix::core::messaging {

// The payload of `message` as the struct of event type `Event`; InvalidMessage (dead-lettered) when the
// payload does not have that shape.
template <class Event>
Event decode(const Message& message) {
  try {
    return boost::json::value_to<Event>(boost::json::value(message.payload));
  } catch (const events::MalformedPayload& e) {
    throw InvalidMessage(message.type + " " + message.id + ": " + e.what());
  }
}

template <class State>
struct EventRoute {
  std::string_view type;
  boost::asio::awaitable<void> (*handle)(State* state, Message message);
};

namespace detail {

template <class Handler>
struct HandlerTraits;
template <class State, class Payload>
struct HandlerTraits<boost::asio::awaitable<void> (*)(State*, Message, Payload)> {
  using state = State;
};

// Not a coroutine: a payload that cannot be decoded throws before any handler starts.
template <class Event, auto handler>
boost::asio::awaitable<void> decode_and_handle(typename HandlerTraits<decltype(handler)>::state* state,
                                               Message message) {
  Event event = decode<Event>(message);
  return handler(state, std::move(message), std::move(event));
}

}  // namespace detail

// Routes the event type `Event` (a struct of core/events.hpp) to the coroutine
// `handler(State*, Message, Payload)`, where Payload is Event or the payload it shares with other types
// (events::OrderEnded for the three ways an order ends).
template <class Event, auto handler>
EventRoute<typename detail::HandlerTraits<decltype(handler)>::state> on() {
  return {Event::kType, &detail::decode_and_handle<Event, handler>};
}

template <class State>
class EventRoutes {
 public:
  EventRoutes(std::string_view service, std::initializer_list<EventRoute<State>> routes)
      : service_(service), routes_(routes) {}

  // Runs the handler of the message's type with the decoded payload. Throws InvalidMessage for a type
  // without a route, or a payload without its type's shape.
  boost::asio::awaitable<void> dispatch(State* state, Message message) const {
    for (const EventRoute<State>& route : routes_) {
      if (route.type == message.type) return route.handle(state, std::move(message));
    }
    throw InvalidMessage("the " + std::string(service_) + " service does not handle " + message.type + " " +
                         message.id);
  }

  // A message the inbox has already (a redelivery) is dropped before it is decoded; any other goes to
  // dispatch, and its handler claims it in the inbox with its effect (handle_once). State has the
  // service's pool and inbox tables as `db` and `tables`.
  boost::asio::awaitable<void> handle(State* state, Message message) const {
    // Named first: with the co_await inside the if's condition, GCC 12's build of this crashed the
    // services at their first message.
    const bool seen = co_await already_handled(state->db, state->tables, message.id);
    if (seen) co_return;
    co_await dispatch(state, std::move(message));
  }

  std::string_view service() const { return service_; }
  // The routed types, in order.
  std::vector<std::string_view> types() const {
    std::vector<std::string_view> types;
    for (const EventRoute<State>& route : routes_) types.push_back(route.type);
    return types;
  }

  // Nothing when the routed types are exactly those the contract binds to the service's queue
  // (events::consumed_by); otherwise both lists. A bound type without a route would be dead-lettered, a
  // route for a type not bound would never run: each service's unit test checks it.
  std::optional<std::string> contract_mismatch() const {
    std::vector<std::string_view> routed = types();
    std::vector<std::string_view> bound = events::consumed_by(service_);
    std::sort(routed.begin(), routed.end());
    std::sort(bound.begin(), bound.end());
    if (routed == bound) return std::nullopt;
    const auto list = [](const std::vector<std::string_view>& names) {
      std::string text;
      for (const std::string_view name : names) text += (text.empty() ? "" : ", ") + std::string(name);
      return "[" + text + "]";
    };
    return "routed " + list(routed) + ", bound " + list(bound);
  }

 private:
  std::string_view service_;
  std::vector<EventRoute<State>> routes_;
};

}  // namespace flashtix::core::messaging

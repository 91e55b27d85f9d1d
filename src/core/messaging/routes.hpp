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
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/events.hpp"
#include "core/messaging/envelope.hpp"

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

  std::string_view service() const { return service_; }
  // The routed types, in order. They must be the types the contract binds to the service's queue
  // (events::consumed_by): each service's unit test checks it.
  std::vector<std::string_view> types() const {
    std::vector<std::string_view> types;
    for (const EventRoute<State>& route : routes_) types.push_back(route.type);
    return types;
  }

 private:
  std::string_view service_;
  std::vector<EventRoute<State>> routes_;
};

}  // namespace flashtix::core::messaging

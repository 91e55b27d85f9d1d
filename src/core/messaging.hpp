// Events between services, all of it: the contract (core/events.hpp) and the transport, one job a file:
//   messaging/envelope      the envelope every message travels in
//   messaging/broker        broker users, settings, and who may publish what
//   messaging/tables        the SQL of a service's outbox and inbox
//   messaging/outbox_relay  publishes the outbox with publisher confirms
//   messaging/inbox         makes a consumed message take effect once
//   messaging/consumer      the consumer loop: owner check, ack, retry, dead-letter
//   messaging/routes        decodes a message once and runs its type's handler
// The broker topology (exchanges, queues, bindings derived from the contract) is declared by core/amqp.
// Code that needs one part includes that part; this header is for code that uses most of them (tests).
#pragma once

#include "core/amqp.hpp"
#include "core/events.hpp"
#include "core/messaging/broker.hpp"
#include "core/messaging/consumer.hpp"
#include "core/messaging/envelope.hpp"
#include "core/messaging/inbox.hpp"
#include "core/messaging/outbox_relay.hpp"
#include "core/messaging/routes.hpp"
#include "core/messaging/tables.hpp"

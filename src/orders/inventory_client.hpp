// The order service's typed view of the inventory service's HTTP API.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/batcher.hpp"
#include "core/http_client.hpp"
#include "core/http.hpp"
#include "orders/limits.hpp"
#include "orders/order.hpp"

namespace flashtix::orders {

struct Hold {
  std::int64_t reservation_id;
  std::string status;
  std::int64_t expires_at_ms;
  // What it holds, at what price, and the total.
  std::vector<OrderItem> items;
  std::int64_t amount_minor;
  std::string currency;
};
struct SoldOut {
  std::int64_t available_tickets;
  std::optional<std::int64_t> ticket_type_id;  // the type that ran short, when one did
};
// A refusal of the order's items that this service passes on as inventory gave it, and keeps under the
// Idempotency-Key: ticket_type_not_found (404), quantity_out_of_range and amount_out_of_range (400).
struct ItemsRefused {
  core::Problem problem;
};
struct EventNotFound {};
// The event limits tickets per buyer: the order must name its buyer (customer_email).
struct BuyerRequired {
  std::int64_t max_tickets_per_buyer;
};
// The buyer's live and bought tickets of the event and this order together would pass the limit.
struct BuyerLimitReached {
  std::int64_t max_tickets_per_buyer;
  std::int64_t buyer_tickets;
};
// The event does not sell now (outside its sales window): inventory's detail (when it opens or closed)
// and its problem members (sales_start, sales_end: RFC 3339 or null), passed on as they are.
struct NotOnSale {
  std::string detail;
  boost::json::object sales;
};
// Inventory answered 503 for this reserve (overloaded, or its database busy): nothing was held.
struct InventoryBusy {
  std::string why;
};
// An answer this client cannot read: a fault, as for any call.
struct ReserveFailed {
  std::string why;
};
using ReserveOutcome = std::variant<Hold, SoldOut, EventNotFound, BuyerRequired, BuyerLimitReached, NotOnSale,
                                    ItemsRefused, InventoryBusy, ReserveFailed>;

// One reserve's answer, as POST /inventory/reserve (or one result of reserve-batch) gives it.
ReserveOutcome reserve_outcome(core::http::status status, const boost::json::value& body);

struct ReserveRequest {
  std::string key;  // the order id: the same key never holds twice
  std::int64_t event_id;
  std::int64_t quantity;
  std::int64_t hold_seconds;
  // The buyer's e-mail address, which inventory counts against the event's per-buyer limit, if any.
  std::optional<std::string> buyer;
  // The order's trace (W3C traceparent), sent with the calls about this hold that name it alone.
  std::string traceparent;
  // By ticket type; none: `quantity` of the event's default type.
  std::vector<OrderItem> items;
};

// Released now, or had given its tickets back already (released, expired, voided).
struct HoldReleased {};
// Its tickets are sold: the order was confirmed.
struct HoldSold {};
struct HoldUnknown {};
using ReleaseOutcome = std::variant<HoldReleased, HoldSold, HoldUnknown>;

// Sold now, or sold before.
struct HoldConfirmed {};
// Its tickets went back (expired, released or voided) before the confirm: they cannot be sold to this order.
struct HoldLapsed {
  std::string reservation_status;
};
using ConfirmOutcome = std::variant<HoldConfirmed, HoldLapsed, HoldUnknown>;

class InventoryClient {
 public:
  explicit InventoryClient(core::HttpClient http) : http_(std::move(http)) {}

  // Holds tickets for each request, in one call (POST /inventory/reserve-batch); one outcome each, in
  // order. Safe to repeat. Throws core::PeerUnavailable when inventory cannot be reached in time.
  boost::asio::awaitable<std::vector<ReserveOutcome>> reserve_many(std::vector<ReserveRequest> requests);
  // Gives the tickets held under `key` back, in the order's trace. Safe to repeat.
  boost::asio::awaitable<ReleaseOutcome> release(std::string key, std::string traceparent);
  // Gives back what a reserve of `reserved` may have held, also when that reserve has not committed yet:
  // it then finds its key released (a tombstone) and holds nothing. Safe to repeat.
  boost::asio::awaitable<ReleaseOutcome> release(const ReserveRequest& reserved);
  // Sells the tickets held under `key`, in the order's trace. Safe to repeat.
  boost::asio::awaitable<ConfirmOutcome> confirm(std::string key, std::string traceparent);
  boost::asio::awaitable<bool> healthy();
  // Inventory's bounds on a reserve (GET /inventory/limits); nothing when it publishes none (404). Throws
  // core::PeerUnavailable when inventory cannot be reached, std::runtime_error on any other answer.
  boost::asio::awaitable<std::optional<InventoryLimits>> limits();

 private:
  boost::asio::awaitable<ReleaseOutcome> release_with(std::string body, std::string traceparent);

  core::HttpClient http_;
};

// The reserves of all threads, sent together: those that arrive while a call to inventory is in flight
// go in the next call (core::Batcher, on one home thread, with that thread's client).
class ReserveQueue {
 public:
  ReserveQueue(boost::asio::io_context::executor_type home, InventoryClient* client, core::BatchLimits limits,
               std::chrono::milliseconds queue_wait);
  // From any thread. Throws core::PeerUnavailable as reserve_many does, core::Overloaded when the
  // queue is full or the reserve was not sent within the queue wait (then nothing was held).
  boost::asio::awaitable<ReserveOutcome> reserve(ReserveRequest request);

 private:
  std::shared_ptr<core::Batcher<ReserveRequest, ReserveOutcome>> queue_;
  std::chrono::milliseconds queue_wait_;
};

}  // namespace flashtix::orders

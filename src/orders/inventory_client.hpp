// The order service's typed view of the inventory service's HTTP API.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <variant>

#include "core/http_client.hpp"

namespace flashtix::orders {

struct Hold {
  std::int64_t reservation_id;
  std::string status;
  std::int64_t expires_at_ms;
};
struct SoldOut {
  std::int64_t available_tickets;
};
struct EventNotFound {};
using ReserveOutcome = std::variant<Hold, SoldOut, EventNotFound>;

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

  // Holds tickets under `key` (the order id). Safe to repeat: the same key never holds twice.
  // Throws core::PeerUnavailable when inventory cannot be reached in time.
  boost::asio::awaitable<ReserveOutcome> reserve(std::string key, std::int64_t event_id, std::int64_t quantity,
                                                 std::int64_t hold_seconds);
  // Gives the tickets held under `key` back. Safe to repeat.
  boost::asio::awaitable<ReleaseOutcome> release(std::string key);
  // Sells the tickets held under `key`. Safe to repeat.
  boost::asio::awaitable<ConfirmOutcome> confirm(std::string key);
  boost::asio::awaitable<bool> healthy();

 private:
  core::HttpClient http_;
};

}  // namespace flashtix::orders

// The checkout saga behind POST /orders: reserve the tickets in inventory (keyed by a fresh order id, so
// a retried reserve never holds twice) while the Idempotency-Key is looked up, then record the order with
// its order.created event and the key's answer in one statement; give the tickets back when the order is
// not recorded, or when the key had an answer already.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>

#include "core/http.hpp"
#include "orders/order.hpp"
#include "orders/orders.hpp"

namespace flashtix::orders {

// The Idempotency-Keys of the requests this process is running: a second request with one of them
// is answered 409 request_in_progress at once instead of reserving a second time. Any thread.
class KeysInFlight {
 public:
  // Holds a key until destroyed; empty when the key was already held.
  class Entry {
   public:
    Entry() = default;
    Entry(KeysInFlight* keys, std::string key) : keys_(keys), key_(std::move(key)) {}
    Entry(Entry&& other) noexcept : keys_(std::exchange(other.keys_, nullptr)), key_(std::move(other.key_)) {}
    Entry& operator=(Entry&&) = delete;
    Entry(const Entry&) = delete;
    ~Entry();
    explicit operator bool() const { return keys_ != nullptr; }

   private:
    KeysInFlight* keys_ = nullptr;
    std::string key_;
  };
  Entry enter(const std::string& key);

 private:
  std::mutex mutex_;
  std::unordered_set<std::string> keys_;
};

// 503 inventory_unavailable, with why.
core::Problem inventory_unavailable(const std::string& why);

// The whole answer to one POST /orders whose body and key were already read; `traceparent` is the
// request's trace, which becomes the order's.
boost::asio::awaitable<core::Response> checkout(Orders* orders, CreateOrder command,
                                                std::optional<std::string> idempotency_key, std::string traceparent);

}  // namespace flashtix::orders

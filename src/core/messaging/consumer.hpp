// The consumer loop: takes one service's queue, refuses what its type's publisher did not send, and runs
// the service's handler for the rest, acking, retrying or dead-lettering each message by how it ended.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include "core/amqp.hpp"
#include "core/messaging/envelope.hpp"

namespace flashtix::core::messaging {

// Handles one message on a worker's loop. Returning means done (acked); throwing InvalidMessage
// dead-letters it; pg::Unavailable, a transient pg::Error or PeerUnavailable (an outage) retries it in
// place with backoff until it passes; any other exception returns it to the queue, up to the delivery
// limit. A handler may therefore run more than once for one message: its effect goes through the inbox.
using Handler = std::function<boost::asio::awaitable<void>(Message message, std::size_t worker)>;

// Takes messages from one queue on a thread of its own and runs each handler on a worker's loop
// (round-robin), at most `prefetch` at once; acks go back to the broker from the consumer thread.
// A message that is unreadable, or was not published by the broker user of its type's owner (another
// user, or no user_id at all: a forgery), never reaches the handler: it is dead-lettered at once.
class Consumer {
 public:
  Consumer(amqp::BrokerSettings broker, std::string queue, int prefetch,
           std::vector<boost::asio::any_io_executor> workers, Handler handler);
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  void start();
  void stop();
  bool connected() const { return connected_; }

 private:
  enum class Settlement { ack, retry, dead_letter };  // also the index of settled_
  struct Done {
    std::uint64_t generation;
    std::uint64_t delivery_tag;
    Settlement settlement;
  };
  void run();
  void settle_finished(amqp::Connection& connection);
  // Sets the dead-letter gauge, at most every few seconds, over a connection of its own.
  void measure_dead_letters();
  void dispatch(const amqp::Delivery& delivery, amqp::Connection& connection);
  static boost::asio::awaitable<void> handle(Consumer* self, std::uint64_t generation, std::uint64_t delivery_tag,
                                             Message message, std::size_t worker);
  void finished(Done done);

  amqp::BrokerSettings broker_settings_;
  std::string queue_;
  int prefetch_;
  std::vector<boost::asio::any_io_executor> workers_;
  Handler handler_;
  std::size_t next_worker_ = 0;
  // One per broker connection: delivery tags are only good on theirs. Read by handlers on worker threads.
  std::atomic<std::uint64_t> generation_{0};
  std::mutex done_mutex_;
  std::vector<Done> done_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> connected_{false};
  prometheus::Counter* redeliveries_;
  prometheus::Gauge* dead_letter_depth_;
  std::array<prometheus::Counter*, 3> settled_{};
  // The consumer thread's own: the inspecting connection and when it last looked.
  std::unique_ptr<amqp::Connection> inspector_;
  std::chrono::steady_clock::time_point dead_letters_measured_at_{};
  std::thread thread_;
};

}  // namespace flashtix::core::messaging

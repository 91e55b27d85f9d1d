// The HTTP/1.1 server side: one coroutine a connection, keep-alive, a deadline on every read and write,
// header and body limits, and the top-level catch that turns a fault into a 500 or 503.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <exception>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/router.hpp"

namespace flashtix::core {

struct ServerLimits {
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_body_bytes = 64 * 1024;
  // A whole request must arrive within this, so a slow client cannot hold a connection forever.
  std::chrono::milliseconds read_timeout{15000};
  std::chrono::milliseconds write_timeout{15000};
  // An idle keep-alive connection is closed after this; after the shorter time once more than half of
  // max_connections are open, so that idle clients give way to active ones.
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds idle_timeout_under_pressure{5000};
  int max_connections = 10000;
  // Connections from one client address at most, so that one client cannot take every slot.
  int max_connections_per_client = 1000;
  // After an answer that ends a connection mid-request (413), what the client still sends is read and
  // dropped for up to this long (and this much), so that it reads the answer instead of a reset.
  std::chrono::milliseconds lingering_close{2000};
  std::size_t max_lingering_bytes = 1024 * 1024;
};

// What every connection of a process shares: the counts behind its limits.
class ServerState {
 public:
  std::atomic<int> open_connections{0};
  std::atomic<int> requests_in_flight{0};

  // Counts a connection of `client`; false (and nothing counted) past `max`.
  bool enter(const std::string& client, int max);
  void leave(const std::string& client);

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, int> per_client_;
};

// The process is stopping (SIGTERM): /ready answers 503, and every answer closes its connection.
void begin_stopping();
bool stopping();

// Serves one client connection until it closes, errs, idles out or asks to close.
boost::asio::awaitable<void> serve_connection(boost::asio::ip::tcp::socket socket, const Router* router,
                                              ServerLimits limits, ServerState* state);

// Runs the matching handler; expected problems become their answers, faults become 500/503 here and only here.
boost::asio::awaitable<Response> dispatch(const Router* router, Request request);

// The problem a fault is answered with (503 for overload and an unreachable or busy database, 500
// otherwise), logged with `what` where it is worth a line. For dispatch, and for each item of a batch
// call whose items fail on their own.
Problem failure_problem(std::exception_ptr error, std::string_view what);

}  // namespace flashtix::core

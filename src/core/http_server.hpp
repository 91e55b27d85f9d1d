// The HTTP/1.1 server side: one coroutine a connection, keep-alive, a deadline on every read and write,
// header and body limits, and the top-level catch that turns a fault into a 500 or 503.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <exception>
#include <string_view>

#include "core/router.hpp"

namespace flashtix::core {

struct ServerLimits {
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_body_bytes = 64 * 1024;
  // A whole request must arrive within this, so a slow client cannot hold a connection forever.
  std::chrono::milliseconds read_timeout{15000};
  std::chrono::milliseconds write_timeout{15000};
  // An idle keep-alive connection is closed after this.
  std::chrono::milliseconds idle_timeout{60000};
  int max_connections = 10000;
};

// Serves one client connection until it closes, errs, idles out or asks to close.
// `open_connections` counts live connections across all threads of the process.
boost::asio::awaitable<void> serve_connection(boost::asio::ip::tcp::socket socket, const Router* router,
                                              ServerLimits limits, std::atomic<int>* open_connections);

// Runs the matching handler; expected problems become their answers, faults become 500/503 here and only here.
boost::asio::awaitable<Response> dispatch(const Router* router, Request request);

// The problem a fault is answered with (503 for overload and an unreachable or busy database, 500
// otherwise), logged with `what` where it is worth a line. For dispatch, and for each item of a batch
// call whose items fail on their own.
Problem failure_problem(std::exception_ptr error, std::string_view what);

}  // namespace flashtix::core

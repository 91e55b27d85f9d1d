// An HTTP/1.1 client for calls between services: pooled keep-alive connections to one base URL,
// a deadline on every call, and retries only where the caller says the call is idempotent.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "core/http.hpp"

namespace flashtix::core {

struct ClientResponse {
  http::status status;
  std::string body;
  // The body as JSON, or null when it is not JSON.
  json::value json() const;
};

struct ClientOptions {
  std::chrono::milliseconds timeout{3000};  // one attempt: connect, write and read
  // No attempt starts after this, and none runs past it: the whole call, retries included.
  std::chrono::milliseconds total_timeout{5000};
  std::size_t max_idle_connections = 64;
  // Attempts for an idempotent call, with a short growing pause between them.
  int max_attempts = 3;
  std::chrono::milliseconds first_retry_pause{50};
  // Sent as `Authorization: Bearer <token>` with every request when not empty.
  std::string bearer_token;
};

// Owned by one event-loop thread, like the database pool.
class HttpClient {
 public:
  // `base_url` such as "http://127.0.0.1:8001"; throws std::invalid_argument otherwise.
  HttpClient(boost::asio::any_io_executor executor, const std::string& base_url, ClientOptions options);

  // Sends one request, telling the peer how long it is waited for (kRequestTimeoutHeader). Idempotent
  // calls are retried on transport failures and on 502/503/504 answers; when every attempt failed so,
  // PeerUnavailable (a 502/503/504 answer included). A non-idempotent call is tried once. A non-empty
  // `traceparent` (W3C Trace Context) goes with it, so the peer's log lines join the caller's trace.
  boost::asio::awaitable<ClientResponse> call(http::verb method, std::string target, std::string body,
                                              bool idempotent, std::string traceparent = {});

  const std::string& base_url() const { return base_url_; }

 private:
  // `caller_waits`: what is left of the whole call, told to the peer (kRequestTimeoutHeader), since a
  // retry with the same body may still pick up what this attempt started.
  boost::asio::awaitable<ClientResponse> attempt(http::verb method, std::string target, std::string body,
                                                 std::chrono::milliseconds timeout,
                                                 std::chrono::milliseconds caller_waits, std::string traceparent);

  boost::asio::any_io_executor executor_;
  std::string base_url_;
  std::string host_;
  std::string port_;
  ClientOptions options_;
  std::vector<std::unique_ptr<boost::beast::tcp_stream>> idle_;
};

}  // namespace flashtix::core

// HTTP for black-box tests: a small synchronous HTTP/1.1 client, a raw-socket client for input that is not
// valid HTTP, and a load driver that runs many requests over many concurrent keep-alive connections. Every
// answer the HTTP clients and the load driver get goes to the OpenAPI check's recorder (support/answer_record.hpp).
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flashtix::test {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Every read, write and connect of the clients below gives up after this unless told otherwise.
inline constexpr std::chrono::milliseconds kHttpTimeout{10000};

struct HttpResponse {
  int status = 0;
  Headers headers;
  std::string body;
  bool keep_alive = false;

  // The first header of that name (case-insensitive), or "" when there is none.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  // The body as JSON; throws, quoting the response, when it is not JSON.
  boost::json::value json() const;
  // "409 application/problem+json {...}", for failure messages.
  std::string describe() const;
};

// One request on a fresh connection that closes afterwards. A body without a Content-Type header is sent
// as application/json. Throws on a transport failure or timeout (an HTTP error status is not a failure).
HttpResponse http_request(unsigned short port, std::string_view method, std::string_view target,
                          std::string_view body = {}, const Headers& headers = {},
                          std::chrono::milliseconds timeout = kHttpTimeout);

// One keep-alive connection for several requests in a row. Throws once the server has closed it.
class HttpConnection {
 public:
  explicit HttpConnection(unsigned short port, std::chrono::milliseconds timeout = kHttpTimeout);
  ~HttpConnection();
  HttpConnection(HttpConnection&&) noexcept;
  HttpConnection& operator=(HttpConnection&&) noexcept;

  HttpResponse request(std::string_view method, std::string_view target, std::string_view body = {},
                       const Headers& headers = {});
  HttpResponse get(std::string_view target) { return request("GET", target); }
  HttpResponse post(std::string_view target, const boost::json::value& body);
  // False after the server answered with Connection: close or the connection failed.
  bool is_open() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A plain TCP connection for bytes that are not (or not yet) a valid request: malformed HTTP, oversized
// headers, clients that stall or vanish half-way.
class RawConnection {
 public:
  explicit RawConnection(unsigned short port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Sends every byte; false when the peer has already closed or reset the connection.
  bool send(std::string_view bytes);

  struct ReadResult {
    std::string data;     // everything received
    bool closed = false;  // the peer closed or reset the connection (otherwise the time ran out)
  };
  // Reads until the peer closes the connection or `timeout` passes.
  ReadResult read_until_closed(std::chrono::milliseconds timeout);
  // Reads until one whole HTTP response has arrived, the peer closes, or `timeout` passes.
  ReadResult read_response(std::chrono::milliseconds timeout);
  // Reads until what arrived (from this call on) holds `text`, the peer closes, or `timeout` passes; for
  // answers that never end, such as an event stream.
  ReadResult read_until(std::string_view text, std::chrono::milliseconds timeout);

  // Half-closes: the server sees end of input, the connection can still be read.
  void shutdown_write();
  // Drops the connection with a TCP reset instead of an orderly close.
  void reset();
  void close();

 private:
  int fd_ = -1;
};

// The first complete HTTP response in `bytes`, or nothing when they do not hold one.
std::optional<HttpResponse> parse_http_response(std::string_view bytes);

struct LoadRequest {
  std::string method;
  std::string target;
  std::string body;  // sent as application/json when not empty
  Headers headers = {};
};

struct LoadResult {
  int status = 0;  // 0 when the request failed in transport; `error` says how
  std::string body;
  std::string error;
  bool replayed = false;  // answered with Idempotent-Replayed: true
};

// Runs every request over `connections` concurrent keep-alive connections (each takes the next request
// when its previous one is answered) and returns the answers in the order of `requests`. A request that
// fails in transport is not retried (it may have taken effect); its connection is opened anew.
std::vector<LoadResult> run_load(unsigned short port, std::vector<LoadRequest> requests, std::size_t connections,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace flashtix::test

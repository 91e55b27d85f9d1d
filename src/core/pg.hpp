// Non-blocking PostgreSQL on the Asio event loop: connections in pipeline mode and a per-thread pool.
// No thread ever blocks on the database; every wait has a deadline.
#pragma once

#include <libpq-fe.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace flashtix::core::pg {

namespace asio = boost::asio;

// A named SQL statement, prepared once per connection on first use. An empty name runs unprepared
// (transaction control such as BEGIN and COMMIT).
struct Query {
  std::string_view name;
  std::string_view sql;
};

inline constexpr Query kBegin{"", "BEGIN"};
inline constexpr Query kCommit{"", "COMMIT"};
inline constexpr Query kRollback{"", "ROLLBACK"};

// Parameters in text format; nullopt is SQL NULL.
using Param = std::optional<std::string>;
using Params = std::vector<Param>;

inline Param param(std::string_view text) { return std::string(text); }
inline Param param(const std::string& text) { return text; }
inline Param param(const char* text) { return std::string(text); }
inline Param param(std::int64_t number) { return std::to_string(number); }
inline Param param(int number) { return std::to_string(number); }
template <class T>
Param param(const std::optional<T>& value) {
  return value ? param(*value) : std::nullopt;
}
template <class... Args>
Params params(const Args&... args) {
  return Params{param(args)...};
}

// Array parameters in PostgreSQL's text form, for statements that take a whole batch at once
// (`unnest($1::bigint[], $2::text[])`). Text elements are always quoted, so any text is safe.
Param int_array(const std::vector<std::int64_t>& values);
Param text_array(const std::vector<std::string>& values);
Param text_array(const std::vector<Param>& values);  // nullopt elements are NULL

struct Statement {
  const Query* query;
  Params params;
};

// A failed statement: the server's SQLSTATE and message.
class Error : public std::runtime_error {
 public:
  Error(std::string sqlstate, const std::string& message)
      : std::runtime_error(message), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  std::string sqlstate_;
};

// The database could not be reached, the connection broke, or a deadline passed: retry later.
class Unavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// True for server errors that mean "busy, try again" rather than a bug: lock or statement timeout,
// serialization failure, deadlock, too many connections, shutting down.
bool is_transient(const Error& error);

// One statement's rows, owning the PGresult.
class Result {
 public:
  Result() = default;
  explicit Result(PGresult* result) : result_(result, &PQclear) {}

  int rows() const { return result_ ? PQntuples(result_.get()) : 0; }
  bool empty() const { return rows() == 0; }
  // Rows changed by INSERT/UPDATE/DELETE without RETURNING.
  std::int64_t affected() const;
  int column(std::string_view name) const;
  bool is_null(int row, std::string_view name) const;
  std::string_view text(int row, std::string_view name) const;
  std::int64_t integer(int row, std::string_view name) const;
  bool boolean(int row, std::string_view name) const;

 private:
  std::shared_ptr<PGresult> result_;
};

// One page of a list read with `LIMIT limit + 1` in `seq` order: the extra row is not shown, it only
// says that another page exists, and the last shown row's seq is the cursor of the next.
template <class Item>
struct Page {
  std::vector<Item> items;
  std::optional<std::int64_t> next_cursor;
};
template <class Item, class ReadRow>
Page<Item> read_page(const Result& rows, std::int64_t limit, ReadRow read_row) {
  Page<Item> page;
  const int shown = rows.rows() < limit ? rows.rows() : static_cast<int>(limit);
  for (int i = 0; i < shown; ++i) page.items.push_back(read_row(rows, i));
  if (rows.rows() > shown) page.next_cursor = rows.integer(shown - 1, "seq");
  return page;
}

struct ConnectionOptions {
  std::string url;
  std::chrono::milliseconds connect_timeout{5000};
  // Client-side bound on one pipeline round trip; the server-side statement_timeout is set below it.
  std::chrono::milliseconds query_timeout{10000};
  std::chrono::milliseconds statement_timeout{8000};
  std::chrono::milliseconds lock_timeout{3000};
  // Shown in pg_stat_activity and the server's log; empty: libpq's default.
  std::string application_name;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  static asio::awaitable<std::shared_ptr<Connection>> connect(asio::any_io_executor executor,
                                                              ConnectionOptions options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends every statement, then one sync, in a single round trip, and returns one Result per statement.
  // The first failing statement throws Error; the ones after it did not run.
  asio::awaitable<std::vector<Result>> pipeline(std::vector<Statement> statements);
  asio::awaitable<Result> exec(const Query& query, Params parameters);

  bool healthy() const;
  // False once the server has closed this idle connection (a restart, an administrator's kill).
  bool still_open();
  bool in_transaction() const;

 private:
  Connection(asio::any_io_executor executor, PGconn* conn, ConnectionOptions options);
  asio::awaitable<void> wait(bool for_write);
  asio::awaitable<void> flush();
  asio::awaitable<PGresult*> next_result();
  void send(const Statement& statement);
  void arm_deadline();
  void disarm_deadline();
  [[noreturn]] void fail(const std::string& what);
  static void on_notice(void* self, const PGresult* notice);

  PGconn* conn_;
  ConnectionOptions options_;
  asio::posix::stream_descriptor socket_;
  asio::steady_timer deadline_;
  std::uint64_t deadline_generation_ = 0;
  bool timed_out_ = false;
  bool broken_ = false;
  std::unordered_set<std::string_view> prepared_;
};

class Pool;

// A connection borrowed from a Pool; handing it back is automatic.
class Lease {
 public:
  Lease(Pool* pool, std::shared_ptr<Connection> connection);
  Lease(Lease&& other) noexcept = default;
  Lease& operator=(Lease&& other) noexcept;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease();

  Connection* operator->() const { return connection_.get(); }
  Connection& operator*() const { return *connection_; }

 private:
  void give_back();
  Pool* pool_;
  std::shared_ptr<const bool> pool_alive_;  // a lease outliving its pool (at exit) just drops the connection
  std::shared_ptr<Connection> connection_;
};

struct PoolOptions {
  ConnectionOptions connection;
  int max_connections = 4;
  std::chrono::milliseconds acquire_timeout{3000};
  // Requests waiting for a connection at most; more are refused at once rather than queued forever.
  std::size_t max_waiters = 4096;
};

// How a pool's connections are used at one moment, for the metrics.
struct PoolUse {
  int open = 0;     // idle, lent and connecting
  int leased = 0;   // lent (or connecting)
  int waiting = 0;  // requests waiting for one
};

// A pool owned by one event-loop thread: no locks, because only that thread touches it.
class Pool {
 public:
  Pool(asio::any_io_executor executor, PoolOptions options);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool();

  asio::awaitable<Lease> acquire();

  // Shorthands for one statement or one pipeline on a borrowed connection.
  asio::awaitable<Result> exec(const Query& query, Params parameters);
  asio::awaitable<std::vector<Result>> pipeline(std::vector<Statement> statements);

  // How long after this client gave up on a transaction it may still be running on the server (each
  // statement there stops at statement_timeout, below this): past it, its writes are there or never
  // will be.
  std::chrono::milliseconds settled_after() const { return options_.connection.query_timeout; }

  // From any thread: the counts as the owning thread last left them.
  PoolUse use() const;

 private:
  friend class Lease;
  struct Waiter {
    explicit Waiter(asio::any_io_executor executor) : timer(executor) {}
    asio::steady_timer timer;
    std::shared_ptr<Connection> connection;
    bool retry = false;  // a slot freed up: the waiter may open a connection itself
  };
  void release(std::shared_ptr<Connection> connection);
  // Publishes the counts for use(); called by the owning thread after each change.
  void note_use();
  // A connection handed back inside a transaction may hold row locks: end it now, not at its next use.
  asio::awaitable<void> roll_back_and_return(std::shared_ptr<Connection> connection);

  asio::any_io_executor executor_;
  PoolOptions options_;
  std::vector<std::shared_ptr<Connection>> idle_;
  int open_ = 0;  // idle + leased + connecting
  std::deque<Waiter*> waiters_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::atomic<int> open_seen_{0}, idle_seen_{0}, waiting_seen_{0};
};

// The reads every store makes of its own rows, written once: one row by its key, and one page of a list.

// The row a lookup statement found, read by `read_row`; nothing when it found none.
template <class Item, class ReadRow>
asio::awaitable<std::optional<Item>> find_one(Pool* db, Query query, Params parameters, ReadRow read_row) {
  const Result rows = co_await db->exec(query, std::move(parameters));
  if (rows.empty()) co_return std::nullopt;
  co_return read_row(rows, 0);
}

// One page of a list statement whose parameters are `filters`, then the seq to start after, then how many
// rows to read: one more than `limit`, which only tells whether another page exists (read_page).
template <class Item, class ReadRow>
asio::awaitable<Page<Item>> list_page(Pool* db, Query query, Params filters, std::int64_t after_seq, std::int64_t limit,
                                      ReadRow read_row) {
  filters.push_back(param(after_seq));
  filters.push_back(param(limit + 1));
  const Result rows = co_await db->exec(query, std::move(filters));
  co_return read_page<Item>(rows, limit, read_row);
}

}  // namespace flashtix::core::pg

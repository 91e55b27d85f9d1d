// libpq driven by Asio: the socket is watched with a stream_descriptor that never owns it (libpq does),
// connections stay in pipeline mode so several statements share one round trip.
#include "core/pg.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <poll.h>

#include "core/log.hpp"

namespace flashtix::core::pg {

using asio::as_tuple;
using asio::use_awaitable;

bool is_transient(const Error& error) {
  const std::string& state = error.sqlstate();
  return state == "55P03"     // lock_not_available (lock_timeout)
         || state == "57014"  // query_canceled (statement_timeout)
         || state == "40001"  // serialization_failure
         || state == "40P01"  // deadlock_detected
         || state == "53300"  // too_many_connections
         || state == "57P01"  // admin_shutdown
         || state == "57P03";  // cannot_connect_now
}

Param int_array(const std::vector<std::int64_t>& values) {
  std::string text = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) text += ',';
    text += std::to_string(values[i]);
  }
  text += '}';
  return text;
}

namespace {

void append_array_element(std::string& text, const std::string& value) {
  text += '"';
  for (const char c : value) {
    // Inside a quoted array element only the quote and the backslash need escaping.
    if (c == '"' || c == '\\') text += '\\';
    text += c;
  }
  text += '"';
}

}  // namespace

Param text_array(const std::vector<std::string>& values) {
  std::string text = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) text += ',';
    append_array_element(text, values[i]);
  }
  text += '}';
  return text;
}

Param text_array(const std::vector<Param>& values) {
  std::string text = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) text += ',';
    // Unquoted NULL is SQL NULL; a quoted "NULL" would be the text.
    if (values[i]) {
      append_array_element(text, *values[i]);
    } else {
      text += "NULL";
    }
  }
  text += '}';
  return text;
}

std::int64_t Result::affected() const {
  const char* text = result_ ? PQcmdTuples(result_.get()) : "";
  std::int64_t value = 0;
  std::from_chars(text, text + std::char_traits<char>::length(text), value);
  return value;
}

int Result::column(std::string_view name) const {
  const int index = result_ ? PQfnumber(result_.get(), std::string(name).c_str()) : -1;
  if (index < 0) throw std::logic_error("result has no column " + std::string(name));
  return index;
}

bool Result::is_null(int row, std::string_view name) const {
  return PQgetisnull(result_.get(), row, column(name)) != 0;
}

std::string_view Result::text(int row, std::string_view name) const {
  const int col = column(name);
  if (row < 0 || row >= rows()) throw std::out_of_range("result row out of range");
  return {PQgetvalue(result_.get(), row, col), static_cast<std::size_t>(PQgetlength(result_.get(), row, col))};
}

std::int64_t Result::integer(int row, std::string_view name) const {
  const std::string_view value = text(row, name);
  std::int64_t number = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (ec != std::errc{} || end != value.data() + value.size()) {
    throw std::runtime_error("column " + std::string(name) + " is not an integer: " + std::string(value));
  }
  return number;
}

bool Result::boolean(int row, std::string_view name) const { return text(row, name) == "t"; }

// --- Connection ---

Connection::Connection(asio::any_io_executor executor, PGconn* conn, ConnectionOptions options)
    : conn_(conn), options_(std::move(options)), socket_(executor, PQsocket(conn)), deadline_(executor) {
  PQsetNoticeReceiver(conn_, &Connection::on_notice, this);
}

void Connection::on_notice(void* self, const PGresult* notice) {
  const char* severity = PQresultErrorField(notice, PG_DIAG_SEVERITY_NONLOCALIZED);
  const std::string_view level = severity ? severity : "";
  // A FATAL that arrives outside a query is the server saying why it is about to close this session
  // (a restart, pg_terminate_backend): the session is over even before the socket says so.
  if (level == "FATAL" || level == "PANIC") static_cast<Connection*>(self)->broken_ = true;
  if (level == "WARNING" || level == "FATAL" || level == "PANIC") {
    std::string message = PQresultErrorMessage(notice);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    log_warn("PostgreSQL: ", message);
  }
}

Connection::~Connection() {
  // libpq owns the file descriptor: take it back from Asio before PQfinish closes it.
  socket_.release();
  PQfinish(conn_);
}

namespace {

// Waits for a raw libpq socket during connection set-up, when the descriptor may still change.
asio::awaitable<bool> wait_socket_until(asio::any_io_executor executor, int fd, bool for_write,
                                        std::chrono::steady_clock::time_point deadline) {
  using namespace asio::experimental::awaitable_operators;
  asio::posix::stream_descriptor socket(executor, fd);
  asio::steady_timer timer(executor, deadline);
  const auto which = for_write ? asio::posix::stream_descriptor::wait_write : asio::posix::stream_descriptor::wait_read;
  auto outcome = co_await (socket.async_wait(which, as_tuple(use_awaitable)) ||
                           timer.async_wait(as_tuple(use_awaitable)));
  socket.release();
  co_return outcome.index() == 0;
}

std::string connection_error(PGconn* conn) {
  std::string message = conn ? PQerrorMessage(conn) : "out of memory";
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

}  // namespace

asio::awaitable<std::shared_ptr<Connection>> Connection::connect(asio::any_io_executor executor,
                                                                 ConnectionOptions options) {
  // Timeouts travel with the session, so every statement and lock wait is bounded on the server too.
  // No sequential scans: a prepared statement keeps the plan it was first given, and a sequential scan
  // chosen while a table was nearly empty would go on reading the whole table as it grows (until the
  // next ANALYZE). Every statement of the services names its rows through an index (`= $1`, or
  // `= ANY($1)` for a batch), so no plan can read more than the rows it names.
  const std::string server_options = "-c statement_timeout=" + std::to_string(options.statement_timeout.count()) +
                                     " -c lock_timeout=" + std::to_string(options.lock_timeout.count()) +
                                     " -c enable_seqscan=off";
  // Keywords after dbname override what its URL says; application_name only when there is one.
  const char* keys[] = {"dbname", "options", options.application_name.empty() ? nullptr : "application_name", nullptr};
  const char* values[] = {options.url.c_str(), server_options.c_str(), options.application_name.c_str(), nullptr};
  // Owned until the Connection takes it: this coroutine may be destroyed while it waits (the process
  // stopping), and the half-open connection must go with it.
  std::unique_ptr<PGconn, decltype(&PQfinish)> owned(PQconnectStartParams(keys, values, /*expand_dbname=*/1),
                                                    &PQfinish);
  PGconn* conn = owned.get();
  if (!conn || PQstatus(conn) == CONNECTION_BAD) {
    throw Unavailable("cannot connect to PostgreSQL: " + connection_error(conn));
  }
  const auto deadline = std::chrono::steady_clock::now() + options.connect_timeout;
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) break;
    const bool ready = co_await wait_socket_until(executor, PQsocket(conn), state == PGRES_POLLING_WRITING, deadline);
    if (!ready) {
      throw Unavailable("cannot connect to PostgreSQL: timed out after " +
                        std::to_string(options.connect_timeout.count()) + " ms");
    }
    state = PQconnectPoll(conn);
  }
  if (state == PGRES_POLLING_FAILED || PQsetnonblocking(conn, 1) != 0 || PQenterPipelineMode(conn) != 1) {
    throw Unavailable("cannot connect to PostgreSQL: " + connection_error(conn));
  }
  std::shared_ptr<Connection> connection(new Connection(executor, conn, std::move(options)));
  owned.release();
  co_return connection;
}

bool Connection::healthy() const {
  return !broken_ && PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) != PQTRANS_ACTIVE;
}

bool Connection::still_open() {
  // A server that restarted or ended the session has sent its goodbye (a FATAL, see on_notice) and
  // closed the socket; an open idle session has nothing to read, or a notice. One poll finds that out
  // here and spares the request that would otherwise be the one to meet the dead connection.
  pollfd probe{PQsocket(conn_), POLLIN, 0};
  if (::poll(&probe, 1, 0) > 0) {
    if (PQconsumeInput(conn_) == 0) broken_ = true;
    else PQisBusy(conn_);  // parses what arrived, which hands a goodbye to on_notice
  }
  return !broken_ && PQstatus(conn_) == CONNECTION_OK;
}

bool Connection::in_transaction() const {
  const auto status = PQtransactionStatus(conn_);
  return status == PQTRANS_INTRANS || status == PQTRANS_INERROR;
}

void Connection::fail(const std::string& what) {
  broken_ = true;
  if (timed_out_) {
    throw Unavailable("PostgreSQL did not answer within " + std::to_string(options_.query_timeout.count()) + " ms");
  }
  throw Unavailable("PostgreSQL connection failed while " + what + ": " + connection_error(conn_));
}

void Connection::arm_deadline() {
  timed_out_ = false;
  const std::uint64_t generation = ++deadline_generation_;
  deadline_.expires_after(options_.query_timeout);
  // The generation check keeps a late-firing timer from cancelling a later, unrelated wait.
  deadline_.async_wait([weak = weak_from_this(), generation](boost::system::error_code ec) {
    if (ec) return;
    auto self = weak.lock();
    if (!self || self->deadline_generation_ != generation) return;
    self->timed_out_ = true;
    self->socket_.cancel();
  });
}

void Connection::disarm_deadline() {
  ++deadline_generation_;
  deadline_.cancel();
}

asio::awaitable<void> Connection::wait(bool for_write) {
  const auto which = for_write ? asio::posix::stream_descriptor::wait_write : asio::posix::stream_descriptor::wait_read;
  auto [ec] = co_await socket_.async_wait(which, as_tuple(use_awaitable));
  if (timed_out_ || ec) fail(for_write ? "writing" : "reading");
}

asio::awaitable<void> Connection::flush() {
  for (;;) {
    const int pending = PQflush(conn_);
    if (pending == 0) co_return;
    if (pending < 0) fail("sending");
    co_await wait(true);
  }
}

asio::awaitable<PGresult*> Connection::next_result() {
  // PQgetResult would block while the answer is incomplete, so read until it is whole.
  while (PQisBusy(conn_)) {
    co_await wait(false);
    if (PQconsumeInput(conn_) == 0) fail("reading");
  }
  co_return PQgetResult(conn_);
}

void Connection::send(const Statement& statement) {
  std::vector<const char*> values;
  values.reserve(statement.params.size());
  for (const Param& p : statement.params) values.push_back(p ? p->c_str() : nullptr);
  const int count = static_cast<int>(values.size());
  const Query& query = *statement.query;
  int sent = 0;
  if (query.name.empty()) {
    sent = PQsendQueryParams(conn_, std::string(query.sql).c_str(), count, nullptr, values.data(), nullptr, nullptr, 0);
  } else {
    sent = PQsendQueryPrepared(conn_, std::string(query.name).c_str(), count, values.data(), nullptr, nullptr, 0);
  }
  if (sent != 1) fail("queueing a statement");
}

asio::awaitable<std::vector<Result>> Connection::pipeline(std::vector<Statement> statements) {
  if (!healthy()) throw Unavailable("PostgreSQL connection is not usable");
  // What each result read back belongs to: a prepare or a statement of the caller's.
  struct Expected {
    enum class Kind { prepare, statement } kind;
    std::size_t index;
  };
  std::vector<Expected> expected;
  for (std::size_t i = 0; i < statements.size(); ++i) {
    const Query& query = *statements[i].query;
    if (!query.name.empty() && !prepared_.contains(query.name)) {
      if (PQsendPrepare(conn_, std::string(query.name).c_str(), std::string(query.sql).c_str(), 0, nullptr) != 1) {
        fail("queueing a prepare");
      }
      expected.push_back({Expected::Kind::prepare, i});
    }
    send(statements[i]);
    expected.push_back({Expected::Kind::statement, i});
  }
  if (PQpipelineSync(conn_) != 1) fail("queueing a sync");

  arm_deadline();
  struct Disarm {
    Connection* self;
    ~Disarm() { self->disarm_deadline(); }
  } disarm{this};

  co_await flush();
  std::vector<Result> results(statements.size());
  std::optional<Error> first_error;
  for (const Expected& item : expected) {
    PGresult* raw = co_await next_result();
    if (!raw) fail("reading a pipeline (result missing)");
    Result result(raw);
    const auto status = PQresultStatus(raw);
    if (status == PGRES_FATAL_ERROR) {
      if (!first_error) {
        const char* state = PQresultErrorField(raw, PG_DIAG_SQLSTATE);
        // The primary message and the constraint's name only: the DETAIL of a failed row quotes its
        // values (a buyer's e-mail, say), and this message is logged.
        const char* primary = PQresultErrorField(raw, PG_DIAG_MESSAGE_PRIMARY);
        const char* constraint = PQresultErrorField(raw, PG_DIAG_CONSTRAINT_NAME);
        std::string message = primary ? primary : "unknown error";
        if (constraint) message += std::string(" (constraint ") + constraint + ")";
        first_error.emplace(state ? state : "", message);
      }
    } else if (status != PGRES_PIPELINE_ABORTED) {
      if (item.kind == Expected::Kind::prepare) prepared_.insert(statements[item.index].query->name);
      if (item.kind == Expected::Kind::statement) results[item.index] = std::move(result);
    }
    // Each statement's results end with a null.
    PGresult* extra = co_await next_result();
    if (extra) {
      PQclear(extra);
      fail("reading a pipeline (unexpected extra result)");
    }
  }
  PGresult* sync = co_await next_result();
  const bool synced = sync && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
  PQclear(sync);
  if (!synced) fail("reading a pipeline (sync missing)");
  if (first_error) throw *first_error;
  co_return results;
}

asio::awaitable<Result> Connection::exec(const Query& query, Params parameters) {
  std::vector<Statement> statements;
  statements.push_back(Statement{&query, std::move(parameters)});
  auto results = co_await pipeline(std::move(statements));
  co_return std::move(results.front());
}

// --- Lease and Pool ---

Lease::Lease(Pool* pool, std::shared_ptr<Connection> connection)
    : pool_(pool), pool_alive_(pool->alive_), connection_(std::move(connection)) {
  pool_->note_use();
}

Lease& Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    give_back();
    pool_ = other.pool_;
    pool_alive_ = std::move(other.pool_alive_);
    connection_ = std::move(other.connection_);
  }
  return *this;
}

Lease::~Lease() { give_back(); }

void Lease::give_back() {
  if (pool_ && connection_ && pool_alive_ && *pool_alive_) {
    pool_->release(std::move(connection_));
    pool_->note_use();
  }
  connection_.reset();
}

Pool::Pool(asio::any_io_executor executor, PoolOptions options)
    : executor_(std::move(executor)), options_(std::move(options)) {}

Pool::~Pool() { *alive_ = false; }

void Pool::note_use() {
  open_seen_.store(open_, std::memory_order_relaxed);
  idle_seen_.store(static_cast<int>(idle_.size()), std::memory_order_relaxed);
  waiting_seen_.store(static_cast<int>(waiters_.size()), std::memory_order_relaxed);
}

PoolUse Pool::use() const {
  const int open = open_seen_.load(std::memory_order_relaxed);
  return PoolUse{open, std::max(0, open - idle_seen_.load(std::memory_order_relaxed)),
                 waiting_seen_.load(std::memory_order_relaxed)};
}

asio::awaitable<Lease> Pool::acquire() {
  for (;;) {
    while (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      if (connection->healthy() && connection->still_open()) co_return Lease(this, std::move(connection));
      --open_;
    }
    if (open_ < options_.max_connections) {
      ++open_;
      std::shared_ptr<Connection> connection;
      try {
        connection = co_await Connection::connect(executor_, options_.connection);
      } catch (const Unavailable&) {
        --open_;
        note_use();
        throw;
      }
      co_return Lease(this, std::move(connection));
    }
    if (waiters_.size() >= options_.max_waiters) {
      throw Unavailable("too many requests are waiting for a database connection");
    }
    Waiter waiter(executor_);
    waiter.timer.expires_after(options_.acquire_timeout);
    waiters_.push_back(&waiter);
    note_use();
    // Leaves the queue however the wait ends, including when the coroutine is destroyed at shutdown.
    struct Dequeue {
      Pool* pool;
      Waiter* self;
      std::shared_ptr<const bool> pool_alive;
      ~Dequeue() {
        if (!*pool_alive) return;
        std::erase(pool->waiters_, self);
        pool->note_use();
      }
    } dequeue{this, &waiter, alive_};
    co_await waiter.timer.async_wait(as_tuple(use_awaitable));
    if (waiter.connection) co_return Lease(this, std::move(waiter.connection));
    if (waiter.retry) continue;
    throw Unavailable("no database connection became free within " +
                      std::to_string(options_.acquire_timeout.count()) + " ms");
  }
}

void Pool::release(std::shared_ptr<Connection> connection) {
  Waiter* next = nullptr;
  if (!waiters_.empty()) {
    next = waiters_.front();
    waiters_.pop_front();
  }
  if (!connection->healthy()) {
    --open_;
    if (next) {
      next->retry = true;
      next->timer.cancel();
    }
    return;
  }
  if (connection->in_transaction()) {
    if (next) waiters_.push_front(next);
    asio::co_spawn(executor_, roll_back_and_return(std::move(connection)), [](std::exception_ptr error) {
      if (error) log_error("rolling back a returned connection failed unexpectedly");
    });
    return;
  }
  if (next) {
    next->connection = std::move(connection);
    next->timer.cancel();
    return;
  }
  idle_.push_back(std::move(connection));
}

asio::awaitable<void> Pool::roll_back_and_return(std::shared_ptr<Connection> connection) {
  try {
    co_await connection->exec(kRollback, {});
  } catch (const std::exception& e) {
    log_warn("dropping a connection that could not roll back: ", e.what());
  }
  // Idle again, or broken and dropped by release().
  release(std::move(connection));
}

asio::awaitable<Result> Pool::exec(const Query& query, Params parameters) {
  Lease lease = co_await acquire();
  co_return co_await lease->exec(query, std::move(parameters));
}

asio::awaitable<std::vector<Result>> Pool::pipeline(std::vector<Statement> statements) {
  Lease lease = co_await acquire();
  co_return co_await lease->pipeline(std::move(statements));
}

}  // namespace flashtix::core::pg

// The outbox relay, the inbox and the consumer loop shared by the services that exchange events.
#include "core/messaging.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <csignal>
#include <random>
#include <utility>

#include "core/failpoint.hpp"
#include "core/http_client.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/trace.hpp"
#include "core/service_host.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"

namespace flashtix::core::messaging {

namespace asio = boost::asio;
using pg::params;
using pg::Result;
using pg::Statement;

namespace {

// Rows one relay round publishes under one confirm wait.
constexpr int kRelayBatch = 200;
constexpr std::chrono::milliseconds kRelayPollInterval{200};
constexpr std::chrono::milliseconds kConfirmTimeout{10'000};
constexpr std::chrono::milliseconds kFirstReconnectPause{100};
constexpr std::chrono::milliseconds kMaxReconnectPause{3000};
// How long the consumer thread waits for a delivery before it settles finished handlers again.
constexpr std::chrono::milliseconds kConsumerPoll{10};
constexpr std::chrono::milliseconds kFirstRetryPause{200};
constexpr std::chrono::milliseconds kMaxRetryPause{10'000};
// The outbox's backlog is measured at most this often, and counted up to this many rows (a count of the
// whole backlog after a long broker outage would read every row of it).
constexpr std::chrono::milliseconds kBacklogInterval{1000};
constexpr int kMaxBacklogCounted = 10'000;
// How often a consumer reads the depth of its dead-letter queue.
constexpr std::chrono::milliseconds kDeadLetterInterval{10'000};
constexpr std::size_t kMaxTypeLength = 64;
constexpr std::size_t kMaxCorrelationIdLength = 128;

// Exponential with jitter: a failing dependency is not hammered in lockstep by every message.
std::chrono::milliseconds retry_pause(std::int64_t delivery_count) {
  const std::int64_t doublings = std::min<std::int64_t>(delivery_count, 16);
  const std::int64_t ceiling = std::min<std::int64_t>(kFirstRetryPause.count() << doublings, kMaxRetryPause.count());
  thread_local std::mt19937 random{std::random_device{}()};
  return std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(ceiling / 2, ceiling)(random));
}

const json::value* member(const json::object& object, std::string_view name) { return object.if_contains(name); }

asio::awaitable<void> sleep_for(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(duration);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace

json::object to_json(const Message& message) {
  return json::object{{"id", message.id},
                      {"type", message.type},
                      {"occurred_at", rfc3339_from_unix_ms(message.occurred_at_ms)},
                      {"correlation_id", message.correlation_id},
                      {"payload", message.payload}};
}

std::optional<Message> parse_message(std::string_view body) {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) return std::nullopt;
  const json::object& object = value.get_object();
  const json::value* id = member(object, "id");
  const json::value* type = member(object, "type");
  const json::value* occurred_at = member(object, "occurred_at");
  const json::value* correlation_id = member(object, "correlation_id");
  const json::value* payload = member(object, "payload");
  if (!id || !id->is_string() || !is_uuid(id->get_string())) return std::nullopt;
  if (!type || !type->is_string() || type->get_string().empty() || type->get_string().size() > kMaxTypeLength) {
    return std::nullopt;
  }
  if (!correlation_id || !correlation_id->is_string() || correlation_id->get_string().size() > kMaxCorrelationIdLength) {
    return std::nullopt;
  }
  if (!occurred_at || !occurred_at->is_string() || !payload || !payload->is_object()) return std::nullopt;
  const auto occurred_at_ms = unix_ms_from_rfc3339(occurred_at->get_string());
  if (!occurred_at_ms) return std::nullopt;
  Message message;
  message.id = std::string(id->get_string());
  message.type = std::string(type->get_string());
  message.occurred_at_ms = *occurred_at_ms;
  message.correlation_id = std::string(correlation_id->get_string());
  message.payload = payload->get_object();
  return message;
}

std::string payload_string(const Message& message, std::string_view field) {
  const json::value* value = member(message.payload, field);
  if (!value || !value->is_string()) {
    throw InvalidMessage(message.type + " " + message.id + ": payload field '" + std::string(field) +
                         "' is missing or not a string");
  }
  return std::string(value->get_string());
}

std::int64_t payload_int(const Message& message, std::string_view field) {
  const json::value* value = member(message.payload, field);
  if (!value || !value->is_int64()) {
    throw InvalidMessage(message.type + " " + message.id + ": payload field '" + std::string(field) +
                         "' is missing or not an integer");
  }
  return value->get_int64();
}

std::optional<std::string> payload_optional_string(const Message& message, std::string_view field) {
  const json::value* value = member(message.payload, field);
  if (!value || value->is_null()) return std::nullopt;
  return payload_string(message, field);
}

std::optional<std::string_view> event_owner(std::string_view type) {
  // One line an event type: who may publish it. Anything not listed is nobody's, and never acted on.
  static constexpr std::pair<std::string_view, std::string_view> kOwners[] = {
      {kOrderCreated, "orders"},
      {kOrderConfirmed, "orders"},
      {kOrderCancelled, "orders"},
      {kOrderExpired, "orders"},
      {kPaymentSucceeded, "payments"},
      {kPaymentFailed, "payments"},
      {kPaymentRefunded, "payments"},
      {kHoldVoided, "inventory"},
  };
  for (const auto& [owned, owner] : kOwners) {
    if (owned == type) return owner;
  }
  return std::nullopt;
}

std::string broker_user(std::string_view service) { return "flashtix-" + std::string(service); }

std::vector<ConfigOption> broker_options(std::string_view service) {
  // No password in the default: ./flashtix up makes one per install and passes the whole URL.
  return {{"amqp-url", "amqp://" + broker_user(service) + "@127.0.0.1:5672/",
           "the RabbitMQ broker (AMQP 0-9-1 URL), logging in as " + broker_user(service) + " with its password"},
          {"prefetch", "64", "messages a service works on at once"}};
}

amqp::BrokerSettings broker_settings_from(const Config& config, std::string_view service) {
  amqp::BrokerSettings settings;
  settings.url = config.get("amqp-url");
  amqp::check_url(settings.url);
  // Consumers trust an event only from the user of the service that owns its type; a service logged in
  // as anyone else would see its own events dead-lettered.
  const std::string user = amqp::url_user(settings.url);
  if (user != broker_user(service)) {
    throw std::invalid_argument("--amqp-url (FLASHTIX_AMQP_URL) logs in as '" + user + "'; the " +
                                std::string(service) + " service logs in as '" + broker_user(service) +
                                "' (README \"Events\")");
  }
  return settings;
}

// ---------------------------------------------------------------------------------------------------
// Outbox and inbox SQL

Tables::Tables(std::string schema) : schema_(std::move(schema)) {
  const std::string& s = schema_;
  auto add = [this](std::string name, std::string sql) {
    names_.push_back(std::move(name));
    sql_.push_back(std::move(sql));
  };
  names_.reserve(8);
  sql_.reserve(8);
  add("outbox_insert", "INSERT INTO " + s + ".outbox (type, correlation_id, payload) VALUES ($1::text, $2::text, $3::jsonb)");
  add("inbox_insert", "INSERT INTO " + s + ".inbox (message_id, type) VALUES ($1::uuid, $2::text) "
                      "ON CONFLICT (message_id) DO NOTHING RETURNING message_id");
  add("inbox_contains", "SELECT 1 FROM " + s + ".inbox WHERE message_id = $1::uuid");
  // SKIP LOCKED: a second relay (another instance) takes the next rows instead of waiting for these.
  add("outbox_unpublished", "SELECT seq, message_id, type, correlation_id, payload::text AS payload, traceparent, "
                            "       (extract(epoch FROM occurred_at) * 1000)::bigint AS occurred_at_ms "
                            "FROM " + s + ".outbox WHERE published_at IS NULL "
                            "ORDER BY seq LIMIT $1::integer FOR UPDATE SKIP LOCKED");
  add("outbox_mark_published", "UPDATE " + s + ".outbox SET published_at = now() WHERE seq = ANY($1::bigint[])");
  // Published rows stay a day for inspection, then go, $1 at a time, oldest first (core/retention).
  add("outbox_prune", "DELETE FROM " + s + ".outbox WHERE seq IN (SELECT seq FROM " + s + ".outbox "
                      "WHERE published_at < now() - interval '1 day' ORDER BY seq LIMIT $1::integer)");
  // A message is redelivered within minutes (a lost ack or confirm); its inbox row stays a week.
  add("inbox_prune", "DELETE FROM " + s + ".inbox WHERE message_id IN (SELECT message_id FROM " + s + ".inbox "
                     "WHERE received_at < now() - interval '7 days' ORDER BY received_at LIMIT $1::integer)");
  // The relay's view of its backlog: how many rows wait (counted up to a bound) and how old the oldest is.
  add("outbox_backlog", "SELECT count(*) AS depth, "
                        "       coalesce(extract(epoch FROM now() - min(occurred_at)), 0)::double precision AS lag "
                        "FROM (SELECT occurred_at FROM " + s + ".outbox WHERE published_at IS NULL "
                        "      ORDER BY seq LIMIT " + std::to_string(kMaxBacklogCounted) + ") waiting");
  insert_outbox_ = {names_[0], sql_[0]};
  insert_inbox_ = {names_[1], sql_[1]};
  inbox_contains_ = {names_[2], sql_[2]};
  select_unpublished_ = {names_[3], sql_[3]};
  mark_published_ = {names_[4], sql_[4]};
  prune_published_ = {names_[5], sql_[5]};
  prune_inbox_ = {names_[6], sql_[6]};
  outbox_backlog_ = {names_[7], sql_[7]};
}

namespace {

// A message the inbox had already: a redelivery, absorbed.
void count_duplicate(const Tables* tables) {
  metrics::counter("flashtix_inbox_duplicates_total", "Messages found in the inbox already, and dropped",
                   {{"schema", tables->schema()}})
      .Increment();
}

}  // namespace

asio::awaitable<bool> already_handled(pg::Pool* db, const Tables* tables, std::string message_id) {
  const Result rows = co_await db->exec(tables->inbox_contains(), params(message_id));
  if (!rows.empty()) count_duplicate(tables);
  co_return !rows.empty();
}

asio::awaitable<std::optional<std::vector<Result>>> handle_once(pg::Pool* db, const Tables* tables, Message message,
                                                                std::vector<Statement> effect) {
  pg::Lease lease = co_await db->acquire();
  std::vector<Statement> claim;
  claim.push_back({&pg::kBegin, {}});
  claim.push_back({&tables->insert_inbox(), params(message.id, message.type)});
  const std::vector<Result> claimed = co_await lease->pipeline(std::move(claim));
  if (claimed[1].empty()) {
    // A concurrent delivery of the same message waited on our row and found it there: nothing to do.
    count_duplicate(tables);
    co_await lease->exec(pg::kRollback, {});
    co_return std::nullopt;
  }
  effect.push_back({&pg::kCommit, {}});
  std::vector<Result> results = co_await lease->pipeline(std::move(effect));
  results.pop_back();
  co_return results;
}

// ---------------------------------------------------------------------------------------------------
// OutboxRelay

OutboxRelay::OutboxRelay(amqp::BrokerSettings broker, const Tables* tables, pg::PoolOptions db)
    : broker_settings_(std::move(broker)),
      tables_(tables),
      published_(&metrics::counter("flashtix_outbox_published_total", "Outbox rows published and confirmed",
                                   {{"schema", tables->schema()}})),
      depth_(&metrics::gauge("flashtix_outbox_depth",
                             "Outbox rows waiting to be published (counted up to " +
                                 std::to_string(kMaxBacklogCounted) + ")",
                             {{"schema", tables->schema()}})),
      lag_(&metrics::gauge("flashtix_outbox_lag_seconds", "Age of the oldest outbox row waiting to be published",
                           {{"schema", tables->schema()}})) {
  // The relay talks to the broker only when it has something to publish, so it could not keep up
  // heartbeats; instead it reads its idle connection every round (Connection::pump) to notice a close.
  broker_settings_.heartbeat = std::chrono::seconds(0);
  db.max_connections = 1;  // one batch at a time
  db_ = std::make_unique<pg::Pool>(io_.get_executor(), std::move(db));
}

OutboxRelay::~OutboxRelay() { stop(); }

void OutboxRelay::start() {
  asio::co_spawn(io_, run(), LogIfFailed{"outbox relay " + tables_->schema()});
  thread_ = std::thread([this] { io_.run(); });
}

void OutboxRelay::stop() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

void OutboxRelay::wake() { doorbell_.ring(); }

asio::awaitable<void> OutboxRelay::run() {
  auto pause = kFirstReconnectPause;
  bool failing = false;
  for (;;) {
    std::size_t published = 0;
    std::optional<std::string> failure;
    try {
      if (!broker_) {
        broker_ = std::make_unique<amqp::Connection>(broker_settings_);
        broker_->enable_confirms();
        connected_ = true;
      }
      published = co_await publish_batch();
      if (published == 0) broker_->pump();
    } catch (const amqp::BrokerUnavailable& e) {
      broker_.reset();
      connected_ = false;
      failure = std::string("broker: ") + e.what();
    } catch (const pg::Unavailable& e) {
      failure = std::string("database: ") + e.what();
    } catch (const pg::Error& e) {
      failure = std::string("database: ") + e.what();
    } catch (const std::exception& e) {
      broker_.reset();
      connected_ = false;
      failure = e.what();
    }
    co_await measure_backlog();
    if (failure) {
      // Unpublished rows stay in the outbox; the next round after the pause publishes them. A plain
      // timer, not the doorbell: during an outage every new order would ring it.
      if (!failing) log_warn("outbox relay (", tables_->schema(), ") paused, retrying: ", *failure);
      failing = true;
      co_await sleep_for(pause);
      pause = std::min(pause * 2, kMaxReconnectPause);
      continue;
    }
    if (failing) log_info("outbox relay (", tables_->schema(), ") resumed");
    failing = false;
    pause = kFirstReconnectPause;
    if (published == static_cast<std::size_t>(kRelayBatch)) continue;
    co_await doorbell_.wait(kRelayPollInterval);
  }
}

asio::awaitable<void> OutboxRelay::measure_backlog() {
  const auto now = std::chrono::steady_clock::now();
  if (now - backlog_measured_at_ < kBacklogInterval) co_return;
  backlog_measured_at_ = now;
  try {
    const Result rows = co_await db_->exec(tables_->outbox_backlog(), {});
    depth_->Set(static_cast<double>(rows.integer(0, "depth")));
    lag_->Set(std::stod(std::string(rows.text(0, "lag"))));
  } catch (const std::exception&) {
    // The database is away: the gauges keep their last values; the relay reports the outage itself.
  }
}

asio::awaitable<std::size_t> OutboxRelay::publish_batch() {
  pg::Lease lease = co_await db_->acquire();
  std::vector<Statement> select;
  select.push_back({&pg::kBegin, {}});
  select.push_back({&tables_->select_unpublished(), params(kRelayBatch)});
  const std::vector<Result> selected = co_await lease->pipeline(std::move(select));
  const Result& rows = selected[1];
  if (rows.empty()) {
    co_await lease->exec(pg::kRollback, {});
    co_return 0;
  }
  // The rows stay locked until the broker has confirmed them all; on any failure the transaction rolls
  // back and they are published again (consumers' inboxes absorb the duplicates).
  std::string published_seqs = "{";
  for (int i = 0; i < rows.rows(); ++i) {
    Message message;
    message.id = std::string(rows.text(i, "message_id"));
    message.type = std::string(rows.text(i, "type"));
    message.correlation_id = std::string(rows.text(i, "correlation_id"));
    message.occurred_at_ms = rows.integer(i, "occurred_at_ms");
    message.payload = json::parse(rows.text(i, "payload")).as_object();
    const std::string traceparent = rows.is_null(i, "traceparent") ? std::string() : std::string(rows.text(i, "traceparent"));
    broker_->publish(amqp::OutgoingMessage{message.id, message.type, message.correlation_id,
                                           message.occurred_at_ms / 1000, json::serialize(to_json(message)),
                                           traceparent});
    if (i > 0) published_seqs += ",";
    published_seqs += rows.text(i, "seq");
  }
  published_seqs += "}";
  broker_->wait_for_confirms(kConfirmTimeout);
  std::vector<Statement> mark;
  mark.push_back({&tables_->mark_published(), params(published_seqs)});
  mark.push_back({&pg::kCommit, {}});
  co_await lease->pipeline(std::move(mark));
  published_->Increment(static_cast<double>(rows.rows()));
  log_debug("outbox relay (", tables_->schema(), ") published ", rows.rows(), " events");
  co_return static_cast<std::size_t>(rows.rows());
}

// ---------------------------------------------------------------------------------------------------
// Consumer

Consumer::Consumer(amqp::BrokerSettings broker, std::string queue, int prefetch,
                   std::vector<asio::any_io_executor> workers, Handler handler)
    : broker_settings_(std::move(broker)),
      queue_(std::move(queue)),
      prefetch_(prefetch),
      workers_(std::move(workers)),
      handler_(std::move(handler)),
      redeliveries_(&metrics::counter("flashtix_consumer_redeliveries_total",
                                      "Messages delivered again (after a nack, a lost connection or a crash)",
                                      {{"queue", queue_}})),
      dead_letter_depth_(&metrics::gauge("flashtix_dead_letter_depth", "Messages in the queue's dead-letter queue",
                                         {{"queue", queue_}})) {
  static constexpr std::array<std::string_view, 3> kOutcomes{"acked", "returned", "dead_lettered"};
  for (std::size_t i = 0; i < kOutcomes.size(); ++i) {
    settled_[i] = &metrics::counter("flashtix_consumer_messages_total", "Messages settled, by outcome",
                                    {{"queue", queue_}, {"outcome", std::string(kOutcomes[i])}});
  }
}

Consumer::~Consumer() { stop(); }

void Consumer::start() {
  thread_ = std::thread([this] { run(); });
}

void Consumer::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void Consumer::run() {
  std::unique_ptr<amqp::Connection> connection;
  auto pause = kFirstReconnectPause;
  bool failing = false;
  while (!stopping_) {
    try {
      if (!connection) {
        connection = std::make_unique<amqp::Connection>(broker_settings_);
        connection->consume(queue_, prefetch_);
        ++generation_;
        connected_ = true;
        if (failing) log_info("consumer of ", queue_, " reconnected");
        failing = false;
        pause = kFirstReconnectPause;
      }
      settle_finished(*connection);
      measure_dead_letters();
      if (auto delivery = connection->next_delivery(kConsumerPoll)) dispatch(*delivery, *connection);
    } catch (const std::exception& e) {
      // Unacknowledged messages go back to the queue with the connection; handlers still running finish
      // and their settlements are dropped (the redelivery finds their effect in the inbox).
      connection.reset();
      connected_ = false;
      if (!failing) log_warn("consumer of ", queue_, " lost the broker, reconnecting: ", e.what());
      failing = true;
      for (auto slept = std::chrono::milliseconds(0); slept < pause && !stopping_; slept += kConsumerPoll) {
        std::this_thread::sleep_for(kConsumerPoll);
      }
      pause = std::min(pause * 2, kMaxReconnectPause);
    }
  }
  connected_ = false;
}

void Consumer::settle_finished(amqp::Connection& connection) {
  std::vector<Done> finished;
  {
    std::lock_guard lock(done_mutex_);
    finished.swap(done_);
  }
  for (const Done& done : finished) {
    if (done.generation != generation_) continue;
    settled_[static_cast<std::size_t>(done.settlement)]->Increment();
    switch (done.settlement) {
      case Settlement::ack: connection.ack(done.delivery_tag); break;
      case Settlement::retry: connection.nack(done.delivery_tag, true); break;
      case Settlement::dead_letter: connection.nack(done.delivery_tag, false); break;
    }
  }
}

void Consumer::measure_dead_letters() {
  const auto now = std::chrono::steady_clock::now();
  if (now - dead_letters_measured_at_ < kDeadLetterInterval) return;
  dead_letters_measured_at_ = now;
  try {
    // A connection of its own: the consuming one may have a delivery arriving in the middle of the answer.
    // It runs on the consumer's thread, so it is made as light as it can be: no heartbeats to keep up (it
    // sits idle between looks), no topology to declare (the consuming connection did), a short connect.
    if (!inspector_) {
      amqp::BrokerSettings settings = broker_settings_;
      settings.heartbeat = std::chrono::seconds(0);
      settings.declare_topology = false;
      settings.connect_timeout = std::min(settings.connect_timeout, std::chrono::milliseconds(1000));
      inspector_ = std::make_unique<amqp::Connection>(settings);
    }
    dead_letter_depth_->Set(static_cast<double>(inspector_->queue_depth(amqp::dead_letter_queue(queue_))));
  } catch (const std::exception&) {
    inspector_.reset();  // the consuming connection reports the outage; try again next time
  }
}

void Consumer::dispatch(const amqp::Delivery& delivery, amqp::Connection& connection) {
  if (delivery.redelivered || delivery.delivery_count > 0) redeliveries_->Increment();
  const std::string publisher = delivery.user_id ? "user " + *delivery.user_id : "no user_id";
  std::optional<Message> message = parse_message(delivery.body);
  if (!message) {
    // Not the body: it may hold a buyer's e-mail address.
    log_error("consumer of ", queue_, ": dead-lettering an unreadable message (routing key ", delivery.routing_key,
              ", ", delivery.body.size(), " bytes, ", publisher, ")");
    settled_[static_cast<std::size_t>(Settlement::dead_letter)]->Increment();
    connection.nack(delivery.delivery_tag, false);
    return;
  }
  // The broker has checked user_id against the publisher's login, so it names the service that sent this.
  const std::optional<std::string_view> owner = event_owner(message->type);
  if (!owner || delivery.user_id != broker_user(*owner)) {
    log_error("consumer of ", queue_, ": dead-lettering ", message->type, " ", message->id, " from ", publisher, ": ",
              owner ? "only " + broker_user(*owner) + " publishes it" : std::string("no service publishes it"));
    settled_[static_cast<std::size_t>(Settlement::dead_letter)]->Increment();
    connection.nack(delivery.delivery_tag, false);
    return;
  }
  message->delivery_count = delivery.delivery_count;
  message->traceparent = delivery.traceparent;
  const std::size_t worker = next_worker_++ % workers_.size();
  asio::co_spawn(workers_[worker], handle(this, generation_, delivery.delivery_tag, std::move(*message), worker),
                 LogIfFailed{"handler of " + queue_});
}

asio::awaitable<void> Consumer::handle(Consumer* self, std::uint64_t generation, std::uint64_t delivery_tag,
                                       Message message, std::size_t worker) {
  const std::string id = message.id;
  const std::string type = message.type;
  std::optional<Settlement> settlement;
  // An outage (database, inventory) is waited out with the message held, however long it lasts: it
  // counts against the prefetch, so intake slows instead of spinning the message through its delivery
  // budget. Only other failures go back to the queue, where the budget ends in the dead-letter queue.
  for (std::int64_t attempt = 0; !settlement; ++attempt) {
    std::optional<std::string> outage;
    try {
      auto work = self->handler_(message, worker);
      co_await std::move(work);
      settlement = Settlement::ack;
    } catch (const InvalidMessage& e) {
      log_error(type, " ", id, " cannot be handled, dead-lettering it: ", e.what());
      settlement = Settlement::dead_letter;
    } catch (const pg::Unavailable& e) {
      outage = e.what();
    } catch (const PeerUnavailable& e) {
      outage = e.what();
    } catch (const pg::Error& e) {
      if (pg::is_transient(e)) {
        outage = e.what();
      } else {
        log_error(type, " ", id, " failed on delivery ", message.delivery_count + 1, ", returning it to the queue: ",
                  e.what());
        settlement = Settlement::retry;
      }
    } catch (const std::exception& e) {
      log_error(type, " ", id, " failed on delivery ", message.delivery_count + 1, ", returning it to the queue: ",
                e.what());
      settlement = Settlement::retry;
    }
    // The connection this delivery came on is gone: the broker hands the message out again.
    if (generation != self->generation_) co_return;
    if (settlement == Settlement::retry) {
      // Back in the queue after a pause, so a bug does not spin through the budget in milliseconds.
      const auto pause = retry_pause(message.delivery_count);
      co_await sleep_for(pause);
    }
    if (outage) {
      const auto pause = retry_pause(attempt);
      log_warn(type, " ", id, " waits for a dependency, retrying in ", pause.count(), " ms: ", *outage);
      co_await sleep_for(pause);
    }
  }
  if (log_enabled(LogLevel::info)) {
    // One line per message handled, in the trace of the order it concerns.
    static constexpr std::array<std::string_view, 3> kOutcomes{"acked", "returned", "dead_lettered"};
    const std::optional<TraceContext> trace = parse_traceparent(message.traceparent);
    write_log_line(LogLevel::info, "message", {{"type", type},
                                               {"message_id", id},
                                               {"queue", self->queue_},
                                               {"outcome", kOutcomes[static_cast<std::size_t>(*settlement)]},
                                               {"trace_id", trace ? std::string_view(trace->trace_id) : ""}});
  }
  if (settlement == Settlement::ack && failpoint_active("consumer_crash_before_ack")) {
    log_error("failpoint consumer_crash_before_ack: dying after the effect of ", type, " ", id, ", before its ack");
    std::raise(SIGKILL);
  }
  self->finished(Done{generation, delivery_tag, *settlement});
}

void Consumer::finished(Done done) {
  std::lock_guard lock(done_mutex_);
  done_.push_back(done);
}

}  // namespace flashtix::core::messaging

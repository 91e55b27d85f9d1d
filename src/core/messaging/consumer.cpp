// The consumer thread (connection, deliveries, settlements) and the handler coroutine each message runs in.
#include "core/messaging/consumer.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <csignal>
#include <optional>
#include <random>
#include <string_view>
#include <utility>

#include "core/backoff.hpp"
#include "core/doorbell.hpp"
#include "core/errors.hpp"
#include "core/failpoint.hpp"
#include "core/log.hpp"
#include "core/messaging/broker.hpp"
#include "core/metrics.hpp"
#include "core/pg.hpp"
#include "core/trace.hpp"

namespace flashtix::core::messaging {

namespace asio = boost::asio;

namespace {

constexpr std::chrono::milliseconds kFirstReconnectPause{100};
constexpr std::chrono::milliseconds kMaxReconnectPause{3000};
// How long the consumer thread waits for a delivery before it settles finished handlers again.
constexpr std::chrono::milliseconds kConsumerPoll{10};
constexpr std::chrono::milliseconds kFirstRetryPause{200};
constexpr std::chrono::milliseconds kMaxRetryPause{10'000};
// How often a consumer reads the depth of its dead-letter queue.
constexpr std::chrono::milliseconds kDeadLetterInterval{10'000};

// Exponential with jitter: a failing dependency is not hammered in lockstep by every message.
std::chrono::milliseconds retry_pause(std::int64_t delivery_count) {
  thread_local std::mt19937 random{std::random_device{}()};
  const double jitter = std::uniform_real_distribution<double>(0.0, 1.0)(random);
  return jittered(backoff_ceiling(kFirstRetryPause, kMaxRetryPause, delivery_count), jitter);
}

}  // namespace

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
  Backoff reconnect(kFirstReconnectPause, kMaxReconnectPause);
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
        reconnect.reset();
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
      const std::chrono::milliseconds pause = reconnect.next();
      for (auto slept = std::chrono::milliseconds(0); slept < pause && !stopping_; slept += kConsumerPoll) {
        std::this_thread::sleep_for(kConsumerPoll);
      }
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

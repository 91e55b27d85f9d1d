// The simulated gateway: answers by token after a configurable delay, so tests and load runs can
// produce declines and slow payments on demand.
#include "payments/gateway.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>

#include "core/errors.hpp"
#include "core/failpoint.hpp"
#include "payments/payment.hpp"

namespace flashtix::payments {

namespace asio = boost::asio;

namespace {

asio::awaitable<void> pause(std::chrono::milliseconds duration) {
  if (duration.count() <= 0) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(duration);
  co_await timer.async_wait(asio::use_awaitable);
}

// A gateway that has not answered by the deadline is treated as one that cannot be reached (an outage):
// the call is repeated later under the same payment id, and the gateway answers a repeat as the first.
core::PeerUnavailable gateway_too_slow(std::string_view call, std::chrono::milliseconds deadline) {
  return core::PeerUnavailable("the payment gateway did not answer a " + std::string(call) + " within " +
                               std::to_string(deadline.count()) + " ms (--gateway-timeout-ms)");
}

// The call or its deadline, whichever ends first. A call that fails fails at once, with its own error (an
// outage is retried, anything else dead-letters the message); one still running at the deadline is
// cancelled (a gateway stops on cancellation, see gateway.hpp) and counts as an outage.
template <class T>
asio::awaitable<T> within_deadline(asio::awaitable<T> call, std::chrono::milliseconds limit, std::string_view what) {
  const auto executor = co_await asio::this_coro::executor;
  asio::steady_timer deadline(executor, limit);
  auto [order, call_error, result, deadline_error] =
      co_await asio::experimental::make_parallel_group(asio::co_spawn(executor, std::move(call), asio::deferred),
                                                       deadline.async_wait(asio::deferred))
          .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  if (order[0] != 0) throw gateway_too_slow(what, limit);
  if (call_error) std::rethrow_exception(call_error);
  co_return std::move(result);
}

// A refund has no answer but its end; within_deadline waits for a value.
asio::awaitable<bool> refund_done(Gateway* gateway, std::string payment_id, core::Money amount) {
  co_await gateway->refund(std::move(payment_id), std::move(amount));
  co_return true;
}

}  // namespace

asio::awaitable<ChargeResult> charge_within(Gateway* gateway, std::chrono::milliseconds limit, std::string payment_id,
                                            std::string token, core::Money amount) {
  co_return co_await within_deadline(gateway->charge(std::move(payment_id), std::move(token), std::move(amount)), limit,
                                     "charge");
}

asio::awaitable<void> refund_within(Gateway* gateway, std::chrono::milliseconds limit, std::string payment_id,
                                    core::Money amount) {
  co_await within_deadline(refund_done(gateway, std::move(payment_id), std::move(amount)), limit, "refund");
}

ChargeResult simulated_decision(std::string_view payment_id, std::string_view token, const core::Money& amount,
                                int decline_percent) {
  // As a real gateway, which checks the request before it asks the card's bank.
  if (amount.amount_minor <= 0 || !core::is_known_currency(amount.currency)) {
    return ChargeResult{false, std::string(kInvalidAmount)};
  }
  if (token == kTokenDecline) return ChargeResult{false, "card_declined"};
  if (token != kTokenOk && token != kTokenSlow) return ChargeResult{false, "invalid_token"};
  if (decline_percent > 0 && static_cast<int>(std::hash<std::string_view>{}(payment_id) % 100) < decline_percent) {
    return ChargeResult{false, "card_declined"};
  }
  return ChargeResult{true, {}};
}

asio::awaitable<ChargeResult> SimulatedGateway::charge(std::string payment_id, std::string token, core::Money amount) {
  co_await pause(settings_.latency);
  if (core::failpoint_active("gateway_first_charge_hangs") && !hung_once_.exchange(true)) {
    co_await pause(std::chrono::hours(1));
  }
  if (token == kTokenSlow) co_await pause(settings_.slow_delay);
  co_return simulated_decision(payment_id, token, amount, settings_.decline_percent);
}

asio::awaitable<void> SimulatedGateway::refund(std::string payment_id, core::Money amount) {
  static_cast<void>(payment_id);
  static_cast<void>(amount);
  co_await pause(settings_.latency);
}

}  // namespace flashtix::payments

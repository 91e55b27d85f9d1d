// The simulated gateway: answers by token after a configurable delay, so tests and load runs can
// produce declines and slow payments on demand.
#include "payments/gateway.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>

#include "core/errors.hpp"
#include "core/failpoint.hpp"

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

}  // namespace

asio::awaitable<ChargeResult> charge_within(Gateway* gateway, std::chrono::milliseconds limit, std::string payment_id,
                                            std::string token) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer deadline(co_await asio::this_coro::executor);
  deadline.expires_after(limit);
  auto call = gateway->charge(std::move(payment_id), std::move(token));
  auto timeout = deadline.async_wait(asio::as_tuple(asio::use_awaitable));
  auto outcome = co_await (std::move(call) || std::move(timeout));
  if (outcome.index() != 0) throw gateway_too_slow("charge", limit);
  co_return std::get<0>(std::move(outcome));
}

asio::awaitable<void> refund_within(Gateway* gateway, std::chrono::milliseconds limit, std::string payment_id) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer deadline(co_await asio::this_coro::executor);
  deadline.expires_after(limit);
  auto call = gateway->refund(std::move(payment_id));
  auto timeout = deadline.async_wait(asio::as_tuple(asio::use_awaitable));
  auto outcome = co_await (std::move(call) || std::move(timeout));
  if (outcome.index() != 0) throw gateway_too_slow("refund", limit);
}

ChargeResult simulated_decision(std::string_view payment_id, std::string_view token, int decline_percent) {
  if (token == kTokenDecline) return ChargeResult{false, "card_declined"};
  if (token != kTokenOk && token != kTokenSlow) return ChargeResult{false, "invalid_token"};
  if (decline_percent > 0 && static_cast<int>(std::hash<std::string_view>{}(payment_id) % 100) < decline_percent) {
    return ChargeResult{false, "card_declined"};
  }
  return ChargeResult{true, {}};
}

asio::awaitable<ChargeResult> SimulatedGateway::charge(std::string payment_id, std::string token) {
  co_await pause(settings_.latency);
  if (core::failpoint_active("gateway_first_charge_hangs") && !hung_once_.exchange(true)) {
    co_await pause(std::chrono::hours(1));
  }
  if (token == kTokenSlow) co_await pause(settings_.slow_delay);
  co_return simulated_decision(payment_id, token, settings_.decline_percent);
}

asio::awaitable<void> SimulatedGateway::refund(std::string payment_id) {
  static_cast<void>(payment_id);
  co_await pause(settings_.latency);
}

}  // namespace flashtix::payments

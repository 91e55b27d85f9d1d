// The simulated gateway: answers by token after a configurable delay, so tests and load runs can
// produce declines and slow payments on demand.
#include "payments/gateway.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>

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

}  // namespace

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

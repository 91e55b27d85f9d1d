// The doorbell: an atomic flag for rings between waits, and a timer cancelled on the loop's own thread.
#include "core/doorbell.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace flashtix::core {

namespace asio = boost::asio;

Doorbell::Doorbell(asio::any_io_executor loop) : timer_(std::move(loop)) {}

void Doorbell::ring() {
  rung_ = true;
  // The timer belongs to the loop's thread: it is cancelled there.
  asio::post(timer_.get_executor(), [this] { timer_.cancel(); });
}

asio::awaitable<void> Doorbell::wait(std::chrono::milliseconds at_most) {
  if (rung_.exchange(false)) co_return;
  timer_.expires_after(at_most);
  co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  // Whatever rang before this point committed before the round that follows starts.
  rung_ = false;
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(duration);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace flashtix::core

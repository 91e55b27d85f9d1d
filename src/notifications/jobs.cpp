// The delivery loop. Each round's POSTs run at once and record their own outcome as soon as they have one.
#include "notifications/jobs.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <random>
#include <string>

#include "core/http_client.hpp"
#include "core/log.hpp"
#include "core/periodic.hpp"
#include "core/service_host.hpp"
#include "notifications/store.hpp"

namespace flashtix::notifications {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

double jitter() {
  thread_local std::mt19937 random{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(random);
}

// One attempt of one notification; true when the receiver took it.
awaitable<bool> deliver_one(Notifications* notifications, WebhookClient* webhook, store::DueNotification due) {
  std::optional<std::string> failure;
  try {
    const unsigned answer = co_await webhook->post(due.id, due.attempts, due.payload);
    failure = failure_of_answer(answer);
  } catch (const core::PeerUnavailable& e) {
    failure = e.what();
  }
  if (!failure) {
    co_await store::mark_delivered(notifications->db, due.id);
    core::log_debug("notification ", due.id, " delivered on attempt ", due.attempts);
    co_return true;
  }
  const RetryPolicy& retry = notifications->settings.limits.retry;
  const std::string status(status_after_failure(due.attempts, retry));
  const std::chrono::milliseconds pause = retry_delay(due.attempts, retry, jitter());
  const std::string error = bounded_error(*failure);
  co_await store::record_failure(notifications->db, due.id, due.attempts, status, pause, error);
  if (status == kFailed) {
    core::log_error("notification ", due.id, " failed for good after ", due.attempts, " attempts: ", error);
  } else {
    core::log_debug("notification ", due.id, " attempt ", due.attempts, " failed, next in ", pause.count(),
                    " ms: ", error);
  }
  co_return false;
}

// One round: claims what is due and waits for every attempt. Returns whether it claimed a full batch (more
// may be due right away). Claimed rows whose outcome was not recorded keep their lease and are retried
// after it.
awaitable<bool> deliver_due(Notifications* notifications, WebhookClient* webhook) {
  const Limits& limits = notifications->settings.limits;
  const auto lease =
      std::chrono::duration_cast<std::chrono::milliseconds>(limits.webhook_timeout + limits.delivery_lease_margin);
  std::vector<store::DueNotification> due = co_await store::claim_due(notifications->db, limits.delivery_batch, lease);
  if (due.empty()) co_return false;
  const std::size_t claimed = due.size();

  const auto executor = co_await asio::this_coro::executor;
  using Attempt = decltype(asio::co_spawn(executor, std::declval<awaitable<bool>>(), asio::deferred));
  std::vector<Attempt> attempts;
  attempts.reserve(claimed);
  for (store::DueNotification& one : due) {
    attempts.push_back(asio::co_spawn(executor, deliver_one(notifications, webhook, std::move(one)), asio::deferred));
  }
  auto group = asio::experimental::make_parallel_group(std::move(attempts));
  auto all_done = group.async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  const auto outcome = co_await std::move(all_done);

  const std::vector<std::exception_ptr>& errors = std::get<1>(outcome);
  const std::vector<bool>& delivered = std::get<2>(outcome);
  std::size_t failed = 0;
  for (std::size_t i = 0; i < claimed; ++i) {
    if (errors[i]) {
      // The outcome was not recorded: the row is tried again once its lease runs out.
      core::LogIfFailed{"recording a notification attempt"}(errors[i]);
      ++failed;
    } else if (!delivered[i]) {
      ++failed;
    }
  }
  if (failed > 0) {
    core::log_warn(failed, " of ", claimed, " webhook deliveries to ", webhook->target().url, " failed this round");
  }
  co_return claimed == static_cast<std::size_t>(limits.delivery_batch);
}

}  // namespace

awaitable<void> deliver_notifications(Notifications* notifications, WebhookClient* webhook) {
  core::Drain drain{.name = "notification delivery",
                    .interval = notifications->settings.limits.delivery_interval,
                    .doorbell = notifications->doorbell};
  co_await core::run_draining(std::move(drain),
                              [notifications, webhook] { return deliver_due(notifications, webhook); });
}

}  // namespace flashtix::notifications

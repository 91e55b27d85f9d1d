// flashtix-notifications: records a notification for each order that ends (confirmed, cancelled, expired)
// and delivers it to a webhook with retries (port 8004).
#include <boost/asio/co_spawn.hpp>

#include "core/log.hpp"
#include "core/migrations.hpp"
#include "core/service_main.hpp"
#include "notifications/events.hpp"
#include "notifications/jobs.hpp"
#include "notifications/notifications.hpp"
#include "notifications/routes.hpp"
#include "notifications/webhook_client.hpp"

namespace flashtix::notifications {

std::vector<core::ConfigOption> options() {
  std::vector<core::ConfigOption> own{
      {"webhook-url", "",
       "https:// (or, on a trusted network, http://) URL every notification is POSTed to; empty records them as "
       "skipped"},
      {"webhook-secret-file", "",
       "file of the whsec_ secret every POST is signed with (Standard Webhooks; a second line while rotating); "
       "required with --webhook-url"},
      {"webhook-ca-file", "",
       "PEM file of the CA certificates an https:// receiver's certificate must chain to; empty: the system's "
       "trust store"}};
  for (auto& option : Limits::options()) own.push_back(std::move(option));
  return core::service_options(8004, "notifications", std::move(own));
}

Settings settings_from(const core::Config& config) {
  Settings settings;
  if (const std::string& url = config.get("webhook-url"); !url.empty()) settings.webhook = parse_webhook_url(url);
  // Read even without a URL, so that a bad file is found at start rather than when a URL is added.
  if (const std::string& file = config.get("webhook-secret-file"); !file.empty()) {
    settings.webhook_keys = read_webhook_secret_file(file);
  }
  // Secure by default: a receiver could not tell our POSTs from anyone's, so an unsigned webhook is refused.
  if (settings.webhook && settings.webhook_keys.empty()) {
    throw std::invalid_argument(
        "--webhook-url needs --webhook-secret-file (FLASHTIX_WEBHOOK_SECRET_FILE): a file holding the whsec_ "
        "secret every delivery is signed with, so that the receiver can verify it (README \"Verifying a "
        "webhook\"); ./flashtix up makes one in .flashtix/secrets/webhook-secret");
  }
  settings.webhook_ca_file = config.get("webhook-ca-file");
  if (!settings.webhook_ca_file.empty() && settings.webhook && !settings.webhook->tls) {
    throw std::invalid_argument("--webhook-ca-file is for an https:// webhook URL; " + settings.webhook->url +
                                " is sent in the clear and no certificate is checked");
  }
  settings.limits = Limits::from(config);
  return settings;
}

// "https://hooks.example/in, signed with 1 key, certificate checked against the system's trust store"
std::string delivery_summary(const Settings& settings) {
  const std::size_t keys = settings.webhook_keys.size();
  std::string summary =
      settings.webhook->url + ", signed with " + std::to_string(keys) + (keys == 1 ? " key" : " keys");
  if (!settings.webhook->tls) return summary + ", in the clear";
  if (settings.webhook_ca_file.empty()) return summary + ", certificate checked against the system's trust store";
  return summary + ", certificate checked against " + settings.webhook_ca_file;
}

// What one event-loop thread owns: the handler state and, on the delivering thread, the webhook client.
struct ThreadState {
  Notifications notifications;
  std::unique_ptr<WebhookClient> webhook;
};

int run(const core::Config& config) {
  const notifications::Settings settings = notifications::settings_from(config);
  // Before anything touches the database: a broker URL of another service's user is refused at once.
  const auto broker = core::messaging::broker_settings_from(config, "notifications");
  // Loaded at start (a CA file even without a URL), so that one that cannot be read stops the service here
  // rather than failing every POST.
  std::shared_ptr<boost::asio::ssl::context> webhook_tls;
  if ((settings.webhook && settings.webhook->tls) || !settings.webhook_ca_file.empty()) {
    webhook_tls = notifications::webhook_tls_context(settings.webhook_ca_file);
  }
  core::apply_migrations(config.get("database-url"), "notifications", notifications::migrations(),
                         std::chrono::seconds(30));

  core::ServiceHost host("notifications", config);
  const core::messaging::Tables tables("notifications");
  // The delivery loop runs on the first worker; handlers on any worker ring it.
  core::Worker& delivering = *host.workers().front();
  core::Doorbell doorbell(delivering.io.get_executor());
  std::vector<std::unique_ptr<notifications::ThreadState>> per_worker;
  core::messaging::Consumer consumer(
      broker, core::amqp::queue_of("notifications"), static_cast<int>(config.get_int("prefetch", 1, 1000)),
      core::worker_executors(host), [&per_worker](core::messaging::Message message, std::size_t worker) {
        return notifications::handle_event(&per_worker[worker]->notifications, std::move(message));
      });

  for (auto& worker : host.workers()) {
    auto state = std::make_unique<notifications::ThreadState>();
    state->notifications = notifications::Notifications{worker->db.get(), settings, &tables, &doorbell, &consumer};
    worker->router = notifications::make_router(&state->notifications);
    per_worker.push_back(std::move(state));
  }
  if (settings.webhook) {
    notifications::ThreadState* state = per_worker.front().get();
    state->webhook = std::make_unique<notifications::WebhookClient>(delivering.io.get_executor(), *settings.webhook,
                                                                    settings.webhook_keys,
                                                                    settings.limits.webhook_timeout, webhook_tls);
    boost::asio::co_spawn(delivering.io,
                          notifications::deliver_notifications(&state->notifications, state->webhook.get()),
                          core::LogIfFailed{"notification delivery"});
    core::log_info("delivering notifications to ", notifications::delivery_summary(settings));
  } else {
    core::log_info("no webhook configured: notifications are recorded as skipped");
  }
  consumer.start();
  // Notifications are records and stay; only the inbox is pruned.
  core::spawn_retention(delivering, {{"notifications.inbox", tables.prune_inbox()}}, config);
  return host.run();
}

}  // namespace flashtix::notifications

int main(int argc, char** argv) {
  using namespace flashtix;
  return core::service_main("notifications", notifications::options(), argc, argv, notifications::run);
}

// Broker identities and settings.
#include "core/messaging/broker.hpp"

#include <stdexcept>

#include "core/events.hpp"

namespace flashtix::core::messaging {

std::string broker_user(std::string_view service) { return "flashtix-" + std::string(service); }

std::optional<std::string_view> event_owner(std::string_view type) { return events::publisher_of(type); }

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

}  // namespace flashtix::core::messaging

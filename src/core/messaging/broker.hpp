// Who talks to the broker as whom: each service logs in as its own user, the broker stamps what it
// publishes with that user, and a consumer acts only on an event from the user of the service the
// contract (core/events.hpp) names as its publisher.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/amqp.hpp"
#include "core/config.hpp"

namespace flashtix::core::messaging {

// The broker user of a service: "flashtix-<service>". Every service logs in as its own, and the broker
// stamps what it publishes with it (the validated AMQP user_id).
std::string broker_user(std::string_view service);
// The service that publishes an event type ("orders", "payments", "inventory"); nothing for a type no
// service publishes. A consumer acts only on a message that the owner's broker user published.
std::optional<std::string_view> event_owner(std::string_view type);

// The options of every service that talks to the broker; the URL's default names the service's user.
std::vector<ConfigOption> broker_options(std::string_view service);
// Throws std::invalid_argument unless the URL is usable and logs in as broker_user(service).
amqp::BrokerSettings broker_settings_from(const Config& config, std::string_view service);

}  // namespace flashtix::core::messaging

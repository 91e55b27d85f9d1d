// The notification service's settings and the per-thread state its handlers share.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/doorbell.hpp"
#include "core/messaging.hpp"
#include "core/migrations.hpp"
#include "core/pg.hpp"
#include "notifications/limits.hpp"
#include "notifications/notification.hpp"
#include "notifications/signature.hpp"

namespace flashtix::notifications {

struct Settings {
  // Nothing when no webhook is configured: notifications are then recorded as skipped.
  std::optional<WebhookTarget> webhook;
  // What every delivery is signed with, from --webhook-secret-file: the first key, and during a rotation
  // the others. Never empty when there is a webhook.
  std::vector<WebhookKey> webhook_keys;
  // PEM certificates an https:// receiver's certificate must chain to; empty: the system's trust store.
  std::string webhook_ca_file;
  Limits limits;
};

// The schema, compiled in from db/notifications/.
const std::vector<core::Migration>& migrations();
// The OpenAPI document GET /openapi.json answers, compiled in from src/notifications/openapi.json.
std::string_view openapi_document();

std::vector<core::ConfigOption> options();
Settings settings_from(const core::Config& config);


struct Notifications {
  core::pg::Pool* db;
  Settings settings;
  const core::messaging::Tables* tables;  // notifications.inbox
  // Rung after a pending notification commits, so that the delivery loop sends it at once.
  core::Doorbell* doorbell;
  const core::messaging::Consumer* consumer;
};

}  // namespace flashtix::notifications

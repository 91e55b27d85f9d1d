// flashtix-inventory: owns the ticket stock and the holds (port 8001).
#include <boost/asio/co_spawn.hpp>
#include <iostream>

#include "core/log.hpp"
#include "core/messaging.hpp"
#include "core/migrations.hpp"
#include "core/retention.hpp"
#include "core/service_host.hpp"
#include "inventory/event_desk.hpp"
#include "inventory/inventory.hpp"
#include "inventory/routes.hpp"
#include "inventory/stream.hpp"
#include "inventory/sweeper.hpp"

namespace flashtix::inventory {

std::vector<core::ConfigOption> options() {
  auto list = core::common_options(8001);
  list.push_back({"max-quantity", "10", "tickets one reserve may hold"});
  list.push_back({"default-hold-seconds", "600", "how long a hold lasts when the request does not say"});
  list.push_back({"max-hold-seconds", "3600", "the longest hold a request may ask for"});
  list.push_back({"sweep-interval-ms", "250", "how often expired holds are returned to stock"});
  list.push_back({"max-batch-size", "512", "requests of one event in one transaction at most"});
  list.push_back({"max-waiting-per-event", "10000", "requests of one event waiting for its next transaction at most"});
  list.push_back({"queue-wait-ms", "2000", "a request not started within this is answered 503 overloaded"});
  list.push_back(
      {"sold-out-recheck-ms", "500", "how long a sold-out event is refused from memory before asking the database"});
  list.push_back({"stream-interval-ms", "250", "how often a live stream (GET /events/{id}/stream) looks for changes"});
  list.push_back({"max-stream-subscribers", "1000", "live streams open at once at most; more are refused with 503"});
  list.push_back({"max-streams-per-client", "10", "live streams open at once from one client address at most"});
  // The broker takes what the outbox announces (the holds a reset voided); selling needs no broker.
  for (auto& option : core::messaging::broker_options("inventory")) list.push_back(std::move(option));
  for (auto& option : core::retention_options()) list.push_back(std::move(option));
  return list;
}

Settings settings_from(const core::Config& config) {
  Settings settings;
  settings.max_quantity = config.get_int("max-quantity", 1, 1000);
  settings.max_hold_seconds = config.get_int("max-hold-seconds", 1, 7 * 24 * 3600);
  settings.default_hold_seconds = config.get_int("default-hold-seconds", 1, settings.max_hold_seconds);
  settings.sweep_interval = std::chrono::milliseconds(config.get_int("sweep-interval-ms", 10, 60'000));
  settings.desk.max_batch = static_cast<std::size_t>(config.get_int("max-batch-size", 1, 10'000));
  settings.desk.max_waiting = static_cast<std::size_t>(config.get_int("max-waiting-per-event", 1, 1'000'000));
  settings.desk.queue_wait = std::chrono::milliseconds(config.get_int("queue-wait-ms", 10, 60'000));
  settings.desk.sold_out_recheck = std::chrono::milliseconds(config.get_int("sold-out-recheck-ms", 0, 60'000));
  settings.stream.tick = std::chrono::milliseconds(config.get_int("stream-interval-ms", 50, 60'000));
  settings.stream.max_subscribers = static_cast<int>(config.get_int("max-stream-subscribers", 0, 100'000));
  settings.stream.max_per_client = static_cast<int>(config.get_int("max-streams-per-client", 1, 100'000));
  return settings;
}

}  // namespace flashtix::inventory

int main(int argc, char** argv) {
  using namespace flashtix;
  core::Config config("flashtix-inventory", inventory::options());
  try {
    config.parse(argc, argv);
    core::configure_logging("inventory", config);
    const inventory::Settings settings = inventory::settings_from(config);
    // Before anything touches the database: a broker URL of another service's user is refused at once.
    const auto broker = core::messaging::broker_settings_from(config, "inventory");
    core::apply_migrations(config.get("database-url"), "inventory", inventory::migrations(), std::chrono::seconds(30));

    core::ServiceHost host("inventory", config);
    const core::messaging::Tables tables("inventory");
    core::messaging::OutboxRelay relay(broker, &tables, core::pool_options_from(config));
    // The desk on the last thread: the sweeper and the retention run on the first.
    auto& desk_thread = *host.workers().back();
    inventory::EventDesk desk({desk_thread.io.get_executor(), desk_thread.db.get()}, settings.desk);
    inventory::StreamCount streams;
    std::vector<std::unique_ptr<inventory::EventSnapshots>> snapshots;
    for (auto& worker : host.workers()) {
      snapshots.push_back(std::make_unique<inventory::EventSnapshots>(worker->db.get(), settings.stream.tick));
      auto state = std::make_shared<inventory::Inventory>(
          inventory::Inventory{worker->db.get(), &desk, settings, snapshots.back().get(), &streams});
      worker->router = inventory::make_router(state.get());
      worker->service_state = state;
    }
    // One sweeper per process is plenty; several processes sweeping is safe too.
    auto& first = *host.workers().front();
    boost::asio::co_spawn(first.io,
                          inventory::sweep_expired_holds(static_cast<inventory::Inventory*>(first.service_state.get())),
                          core::LogIfFailed{"expiry sweeper"});
    relay.start();
    const std::vector<core::RetentionRule> retention{{"inventory.outbox", tables.prune_published()}};
    boost::asio::co_spawn(first.io, core::keep_tables_trimmed(first.db.get(), retention, core::retention_limits_from(config)),
                          core::LogIfFailed{"retention"});
    return host.run();
  } catch (const std::invalid_argument& e) {
    std::cerr << "flashtix-inventory: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    core::log_error("flashtix-inventory cannot start: ", e.what());
    return 1;
  }
}

// flashtix-inventory: owns the ticket stock and the holds (port 8001).
#include <boost/asio/co_spawn.hpp>

#include "core/log.hpp"
#include "core/messaging.hpp"
#include "core/migrations.hpp"
#include "core/service_main.hpp"
#include "inventory/event_desk.hpp"
#include "inventory/inventory.hpp"
#include "inventory/jobs.hpp"
#include "inventory/routes.hpp"
#include "inventory/stream.hpp"

namespace flashtix::inventory {

// The broker takes what the outbox announces (the holds a reset voided or the sweep expired); selling
// needs no broker.
std::vector<core::ConfigOption> options() { return core::service_options(8001, "inventory", Limits::options()); }

namespace {

int run(const core::Config& config) {
  const inventory::Limits limits = inventory::Limits::from(config);
  // Before anything touches the database: a broker URL of another service's user is refused at once.
  const auto broker = core::messaging::broker_settings_from(config, "inventory");
  core::apply_migrations(config.get("database-url"), "inventory", inventory::migrations(), std::chrono::seconds(30));

  core::ServiceHost host("inventory", config);
  const core::messaging::Tables tables("inventory");
  core::messaging::OutboxRelay relay(broker, &tables, host.pool_options());
  // The desk on the last thread: the sweeper and the retention run on the first.
  auto& desk_thread = *host.workers().back();
  inventory::EventDesk desk({desk_thread.io.get_executor(), desk_thread.db.get()}, limits.desk);
  inventory::StreamCount streams;
  std::vector<std::unique_ptr<inventory::EventSnapshots>> snapshots;
  std::vector<std::unique_ptr<inventory::Inventory>> per_worker;
  for (auto& worker : host.workers()) {
    snapshots.push_back(std::make_unique<inventory::EventSnapshots>(worker->db.get(), limits.stream.tick));
    per_worker.push_back(std::make_unique<inventory::Inventory>(
        inventory::Inventory{worker->db.get(), &desk, limits, snapshots.back().get(), &streams}));
    worker->router = inventory::make_router(per_worker.back().get());
  }
  // One sweeper per process is plenty; several processes sweeping is safe too.
  auto& first = *host.workers().front();
  boost::asio::co_spawn(first.io, inventory::sweep_expired_holds(per_worker.front().get(), &relay),
                        core::LogIfFailed{"expiry sweeper"});
  relay.start();
  core::spawn_retention(first, {{"inventory.outbox", tables.prune_published()}}, config);
  return host.run();
}

}  // namespace

}  // namespace flashtix::inventory

int main(int argc, char** argv) {
  using namespace flashtix;
  return core::service_main("inventory", inventory::options(), argc, argv, inventory::run);
}

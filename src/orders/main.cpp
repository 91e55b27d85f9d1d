// flashtix-orders: takes orders, reserves their tickets in inventory, compensates on failure, and ends
// each order on its payment's outcome (port 8002).
#include <boost/asio/co_spawn.hpp>

#include "core/auth.hpp"
#include "core/log.hpp"
#include "core/migrations.hpp"
#include "core/service_main.hpp"
#include "orders/checkout.hpp"
#include "orders/events.hpp"
#include "orders/inventory_client.hpp"
#include "orders/jobs.hpp"
#include "orders/orders.hpp"
#include "orders/routes.hpp"
#include "orders/store.hpp"

namespace flashtix::orders {

std::vector<core::ConfigOption> options() {
  std::vector<core::ConfigOption> own{
      {"inventory-url", "http://127.0.0.1:8001", "base URL of the inventory service"},
      {"inventory-token-file", "",
       "file holding the service token sent to inventory (./flashtix up: .flashtix/secrets/service-token)"}};
  for (auto& option : Limits::options()) own.push_back(std::move(option));
  return core::service_options(8002, "orders", std::move(own));
}

// Inventory sells and releases holds only for the service role; without its token no order can be made.
std::string inventory_token_from(const core::Config& config) {
  if (config.get("inventory-token-file").empty()) {
    throw std::invalid_argument("--inventory-token-file (FLASHTIX_INVENTORY_TOKEN_FILE) is required: the service token for inventory");
  }
  return core::read_token_file(config.get("inventory-token-file"));
}

// What one event-loop thread owns: its inventory client (and connections) and the handler state.
struct ThreadState {
  std::unique_ptr<InventoryClient> inventory;
  Orders orders;
};

int run(const core::Config& config) {
  const orders::Limits limits = orders::Limits::from(config);
  const std::string inventory_token = orders::inventory_token_from(config);
  // Before anything touches the database: a broker URL of another service's user is refused at once.
  const auto broker = core::messaging::broker_settings_from(config, "orders");
  core::apply_migrations(config.get("database-url"), "orders", orders::migrations(), std::chrono::seconds(30));

  // Declared before the host: requests still running when the host goes hold entries in it.
  orders::KeysInFlight keys_in_flight;
  core::ServiceHost host("orders", config);
  const core::messaging::Tables tables("orders");
  core::messaging::OutboxRelay relay(broker, &tables, host.pool_options());
  std::vector<orders::Orders*> orders_per_worker;
  core::messaging::Consumer consumer(
      broker, core::amqp::queue_of("orders"), static_cast<int>(config.get_int("prefetch", 1, 1000)),
      core::worker_executors(host), [&orders_per_worker](core::messaging::Message message, std::size_t worker) {
        return orders::handle_event(orders_per_worker[worker], std::move(message));
      });

  // One writer for the whole process, so that every thread's orders share its transactions; the key
  // lookups beside it.
  auto& writer_home = *host.workers().front();
  orders::store::CheckoutWrites writes(writer_home.io.get_executor(), writer_home.db.get(), limits.checkout_writes,
                                       limits.queue_wait);
  orders::store::KeyLookups key_lookups(writer_home.io.get_executor(), writer_home.db.get(), limits.key_lookups,
                                        limits.queue_wait);
  core::ClientOptions client_options;
  client_options.timeout = limits.inventory_timeout;
  client_options.bearer_token = inventory_token;
  std::vector<std::unique_ptr<orders::ThreadState>> states;
  for (auto& worker : host.workers()) {
    auto state = std::make_unique<orders::ThreadState>();
    state->inventory = std::make_unique<orders::InventoryClient>(
        core::HttpClient(worker->io.get_executor(), config.get("inventory-url"), client_options));
    states.push_back(std::move(state));
  }
  // One queue of reserves for the process, on the last thread (the writer is on the first), with that
  // thread's client.
  orders::ReserveQueue reserves(host.workers().back()->io.get_executor(), states.back()->inventory.get(),
                                limits.reserve_batches, limits.queue_wait);
  for (std::size_t i = 0; i < states.size(); ++i) {
    core::Worker& worker = *host.workers()[i];
    orders::ThreadState& state = *states[i];
    state.orders = orders::Orders{worker.db.get(), &writes,   &key_lookups, state.inventory.get(), &reserves,
                                  &keys_in_flight, limits,   &tables,      &relay};
    worker.router = orders::make_router(&state.orders);
    orders_per_worker.push_back(&state.orders);
  }
  relay.start();
  consumer.start();
  boost::asio::co_spawn(host.workers().front()->io, orders::sweep_orders(orders_per_worker.front()),
                        core::LogIfFailed{"order sweeper"});
  // A hold time or quantity inventory would refuse stops the service, rather than failing every order.
  boost::asio::co_spawn(host.workers().front()->io,
                        orders::check_limits_with_inventory(limits, states.front()->inventory.get(),
                                                            [&host](std::string why) {
                                                              core::log_error("flashtix-orders cannot run: ", why);
                                                              host.stop(1);
                                                            }),
                        core::LogIfFailed{"limits check"});
  core::spawn_retention(*host.workers().front(), orders::store::retention_rules(tables), config);
  return host.run();
}

}  // namespace flashtix::orders

int main(int argc, char** argv) {
  using namespace flashtix;
  return core::service_main("orders", orders::options(), argc, argv, orders::run);
}

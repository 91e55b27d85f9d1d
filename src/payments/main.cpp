// flashtix-payments: charges orders through the payment gateway and refunds orders that closed unsold
// (port 8003). Works from events: order.created in, payment.succeeded or payment.failed out.
#include <boost/asio/co_spawn.hpp>

#include "core/log.hpp"
#include "core/migrations.hpp"
#include "core/service_main.hpp"
#include "payments/events.hpp"
#include "payments/jobs.hpp"
#include "payments/payments.hpp"
#include "payments/routes.hpp"
#include "payments/store.hpp"

namespace flashtix::payments {

std::vector<core::ConfigOption> options() { return core::service_options(8003, "payments", Limits::options()); }

namespace {

int run(const core::Config& config) {
  const payments::Limits limits = payments::Limits::from(config);
  // Before anything touches the database: a broker URL of another service's user is refused at once.
  const auto broker = core::messaging::broker_settings_from(config, "payments");
  core::apply_migrations(config.get("database-url"), "payments", payments::migrations(), std::chrono::seconds(30));

  core::ServiceHost host("payments", config);
  const core::messaging::Tables tables("payments");
  core::messaging::OutboxRelay relay(broker, &tables, host.pool_options());
  payments::SimulatedGateway gateway(limits.simulated_gateway);
  core::Doorbell refunds(host.workers().front()->io.get_executor());
  std::vector<std::unique_ptr<payments::Payments>> payments_per_worker;
  core::messaging::Consumer consumer(
      broker, core::amqp::queue_of("payments"), static_cast<int>(config.get_int("prefetch", 1, 1000)),
      core::worker_executors(host), [&payments_per_worker](core::messaging::Message message, std::size_t worker) {
        return payments::handle_event(payments_per_worker[worker].get(), std::move(message));
      });

  for (auto& worker : host.workers()) {
    payments_per_worker.push_back(std::make_unique<payments::Payments>(
        payments::Payments{worker->db.get(), &gateway, limits, &tables, &relay, &consumer, &refunds}));
    worker->router = payments::make_router(payments_per_worker.back().get());
  }
  relay.start();
  consumer.start();
  boost::asio::co_spawn(host.workers().front()->io, payments::run_refunds(payments_per_worker.front().get()),
                        core::LogIfFailed{"refunds"});
  core::spawn_retention(*host.workers().front(), payments::store::retention_rules(tables), config);
  return host.run();
}

}  // namespace

}  // namespace flashtix::payments

int main(int argc, char** argv) {
  using namespace flashtix;
  return core::service_main("payments", payments::options(), argc, argv, payments::run);
}

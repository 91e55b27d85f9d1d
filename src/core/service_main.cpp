// A service's start, written once for the four services.
#include "core/service_main.hpp"

#include <boost/asio/co_spawn.hpp>
#include <iostream>
#include <stdexcept>
#include <string>

#include "core/log.hpp"
#include "core/messaging/broker.hpp"

namespace flashtix::core {

std::vector<ConfigOption> service_options(int port, std::string_view service, std::vector<ConfigOption> own) {
  std::vector<ConfigOption> list = common_options(port);
  for (auto& option : own) list.push_back(std::move(option));
  for (auto& option : messaging::broker_options(service)) list.push_back(std::move(option));
  for (auto& option : retention_options()) list.push_back(std::move(option));
  return list;
}

int service_main(std::string_view service, std::vector<ConfigOption> options, int argc, char** argv,
                 const std::function<int(const Config&)>& run) {
  const std::string program = "flashtix-" + std::string(service);
  Config config(program, std::move(options));
  try {
    config.parse(argc, argv);
    configure_logging(std::string(service), config);
    // The shared bounds are read again by the host; checked here too, so that a bad one is a usage error
    // before anything waits for the database.
    HostLimits::from(config);
    return run(config);
  } catch (const std::invalid_argument& e) {
    std::cerr << program << ": " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    log_error(program, " cannot start: ", e.what());
    return 1;
  }
}

std::vector<boost::asio::any_io_executor> worker_executors(ServiceHost& host) {
  std::vector<boost::asio::any_io_executor> executors;
  for (auto& worker : host.workers()) executors.push_back(worker->io.get_executor());
  return executors;
}

void spawn_retention(Worker& worker, std::vector<RetentionRule> rules, const Config& config) {
  boost::asio::co_spawn(worker.io,
                        keep_tables_trimmed(worker.db.get(), std::move(rules), retention_limits_from(config)),
                        LogIfFailed{"retention"});
}

}  // namespace flashtix::core

// What every service's main does alike: the flags it takes, its start with the exit codes a supervisor
// reads, and the wiring each host repeats around its own (the workers' executors, the retention loop).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/retention.hpp"
#include "core/service_host.hpp"

namespace flashtix::core {

// A service's flags in the order --help lists them: the common ones (listening on `port`), the service's
// `own` (its settings and limits), then its broker connection and retention.
std::vector<ConfigOption> service_options(int port, std::string_view service, std::vector<ConfigOption> own);

// The body of a service's main(): parses the flags, logs as `service` and returns what `run` returns (the
// host's exit code). A bad flag or setting (std::invalid_argument) exits 2 with the reason on stderr, as
// a usage error; any other failure to start exits 1 with the reason logged.
int service_main(std::string_view service, std::vector<ConfigOption> options, int argc, char** argv,
                 const std::function<int(const Config&)>& run);

// Every worker's executor, in worker order: a consumer hands each message to the worker of its index.
std::vector<boost::asio::any_io_executor> worker_executors(ServiceHost& host);

// Runs the retention loop on `worker`: prunes `rules` within the limits the flags set, a failure logged.
void spawn_retention(Worker& worker, std::vector<RetentionRule> rules, const Config& config);

}  // namespace flashtix::core

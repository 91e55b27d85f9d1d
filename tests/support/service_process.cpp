// Spawning, health-waiting and stopping a service binary under test.
#include "support/service_process.hpp"

#include "support/credentials.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <thread>

#include "support/http_client.hpp"

#ifndef FLASHTIX_BIN_DIR
#error "FLASHTIX_BIN_DIR must name the directory the service binaries are built into"
#endif

namespace flashtix::test {

std::string service_bin_dir() {
  if (const char* dir = std::getenv("FLASHTIX_TEST_BIN_DIR"); dir != nullptr && *dir != '\0') return dir;
  return FLASHTIX_BIN_DIR;
}

ServiceProcess::ServiceProcess(std::string binary, EnvVars env, std::vector<std::string> args)
    : binary_path_(binary.find('/') == std::string::npos ? service_bin_dir() + "/" + binary : std::move(binary)),
      env_(std::move(env)),
      args_(std::move(args)) {
  if (::access(binary_path_.c_str(), X_OK) != 0) {
    throw std::runtime_error("service binary " + binary_path_ + " does not exist or is not executable");
  }
  port_ = free_tcp_port();
  // The defaults come first so that the caller's variables replace them.
  // Every test's crowd comes from 127.0.0.1: the rate limit is set out of its way, except where a test
  // of the limit sets it.
  EnvVars merged{{"FLASHTIX_PORT", std::to_string(port_)},
                 {"FLASHTIX_LISTEN_ADDRESS", "127.0.0.1"},
                 {"FLASHTIX_RATE_LIMIT_PER_SECOND", "1000000000"},
                 {"FLASHTIX_RATE_LIMIT_BURST", "1000000000"}};
  for (auto& entry : credential_env()) merged.push_back(std::move(entry));
  for (auto& [name, value] : env_) {
    if (name == "FLASHTIX_PORT") port_ = static_cast<unsigned short>(std::stoi(value));
    const auto same =
        std::find_if(merged.begin(), merged.end(), [&name](const auto& entry) { return entry.first == name; });
    if (same != merged.end()) {
      same->second = value;
    } else {
      merged.emplace_back(name, value);
    }
  }
  env_ = std::move(merged);
  dir_ = make_temp_dir("flashtix-svc-");
  keep_ = std::getenv("FLASHTIX_TEST_KEEP_DIRS") != nullptr;
  try {
    start();
  } catch (...) {
    if (!keep_) remove_tree(dir_);
    throw;
  }
}

ServiceProcess::~ServiceProcess() {
  if (pid_ > 0) {
    try {
      kill();
    } catch (const std::exception& e) {
      std::cerr << "[harness] killing " << binary_path_ << " failed: " << e.what() << "\n";
    }
  }
  if (keep_) {
    std::cerr << "[harness] service log kept: " << log_path() << "\n";
  } else {
    remove_tree(dir_);
  }
}

bool ServiceProcess::running() {
  if (pid_ <= 0) return false;
  if (auto status = wait_for_exit(pid_, std::chrono::milliseconds(0))) {
    last_exit_code_ = exit_code_of(*status);
    pid_ = -1;
    return false;
  }
  return true;
}

void ServiceProcess::start() {
  if (pid_ > 0) throw std::logic_error(binary_path_ + " is already running");
  SpawnOptions options;
  options.argv = {binary_path_};
  options.argv.insert(options.argv.end(), args_.begin(), args_.end());
  options.env = env_;
  options.drop_env_prefixes = {"FLASHTIX_"};
  options.log_path = log_path();
  pid_ = spawn(options);
  try {
    wait_until_healthy();
  } catch (...) {
    if (pid_ > 0) kill();
    throw;
  }
}

void ServiceProcess::wait_until_healthy() {
  const auto deadline = std::chrono::steady_clock::now() + kHealthTimeout;
  std::string last_problem = "no answer yet";
  for (;;) {
    if (!running()) {
      throw std::runtime_error(binary_path_ + " exited with " + std::to_string(last_exit_code_.value_or(-1)) +
                               " before answering /health; log tail (" + log_path() + "):\n" + log_tail());
    }
    try {
      const HttpResponse response = http_request(port_, "GET", "/health", "", {}, std::chrono::seconds(1));
      if (response.status == 200) return;
      last_problem = "GET /health answered " + std::to_string(response.status);
    } catch (const std::exception& e) {
      last_problem = e.what();
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error(binary_path_ + " did not answer GET /health with 200 on port " + std::to_string(port_) +
                               " within " + std::to_string(kHealthTimeout.count()) + " s (" + last_problem +
                               "); log tail (" + log_path() + "):\n" + log_tail());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

int ServiceProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return last_exit_code_.value_or(-1);
  const pid_t pid = pid_;
  pid_ = -1;
  last_exit_code_ = exit_code_of(stop_process(pid, SIGTERM, grace));
  return *last_exit_code_;
}

void ServiceProcess::kill() {
  if (pid_ <= 0) return;
  const pid_t pid = pid_;
  pid_ = -1;
  last_exit_code_ = exit_code_of(stop_process(pid, SIGKILL, std::chrono::seconds(10)));
}

void ServiceProcess::restart() {
  stop();
  start();
}

std::string ServiceProcess::log_tail(std::size_t max_bytes) const { return file_tail(log_path(), max_bytes); }

}  // namespace flashtix::test

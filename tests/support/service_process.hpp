// One FlashTix service binary run as a child process on a free port, for black-box tests: started,
// waited for until GET /health answers, stopped, killed and restarted by the test.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "support/posix.hpp"

namespace flashtix::test {

class ServiceProcess {
 public:
  // Starts `binary` (a name in the build's bin directory, or a path) with FLASHTIX_PORT set to a free
  // port and FLASHTIX_LISTEN_ADDRESS to 127.0.0.1 unless `env` sets them, and `env` on top; inherited
  // FLASHTIX_* variables are dropped. Waits until GET /health answers 200; throws with the log tail when
  // it does not in time.
  ServiceProcess(std::string binary, EnvVars env, std::vector<std::string> args = {});
  ~ServiceProcess();
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;

  unsigned short port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& binary_path() const { return binary_path_; }
  // True while the child runs; a child that has exited is reaped and its exit code kept.
  bool running();
  // The exit code of the last run that ended (128 + signal when killed by one).
  std::optional<int> last_exit_code() const { return last_exit_code_; }

  // SIGTERM, then SIGKILL after `grace`; returns the exit code (0 is the contract's clean exit).
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  // SIGKILL at once, as a crash.
  void kill();
  // Starts again with the same port and environment and waits for /health.
  void start();
  void restart();

  std::string log_path() const { return dir_ + "/service.log"; }
  std::string log_tail(std::size_t max_bytes = 4000) const;
  // Keeps the log (its directory) after the process is gone, for a look after a failed run.
  void keep_logs() { keep_ = true; }

  // How long start() waits for /health before giving up.
  static constexpr std::chrono::seconds kHealthTimeout{20};

 private:
  void wait_until_healthy();

  std::string binary_path_;
  EnvVars env_;
  std::vector<std::string> args_;
  std::string dir_;
  unsigned short port_ = 0;
  pid_t pid_ = -1;
  std::optional<int> last_exit_code_;
  bool keep_ = false;
};

// The directory service binaries are taken from: $FLASHTIX_TEST_BIN_DIR, else the build's bin directory.
std::string service_bin_dir();

}  // namespace flashtix::test

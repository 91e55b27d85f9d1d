// A throwaway RabbitMQ node for one test binary: its own directory under /tmp, free ports for AMQP,
// distribution and epmd, stopped (with its epmd) and removed at the end. Its settings, environment and
// users are those of ./flashtix up (embedded/, access/rabbitmq-users: one user per service, no guest),
// each user with a password of its own.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "support/posix.hpp"

namespace flashtix::test {

class RabbitBroker {
 public:
  // Boots the node and waits until it accepts an AMQP login (60 s at most); throws with the log tail on
  // failure. Call it from a thread that lives as long as the broker: the parent-death signal that stops
  // the node when the test binary dies follows that thread.
  RabbitBroker();
  // Stops the node and its epmd and removes the directory (kept when FLASHTIX_TEST_KEEP_DIRS is set).
  ~RabbitBroker();
  RabbitBroker(const RabbitBroker&) = delete;
  RabbitBroker& operator=(const RabbitBroker&) = delete;

  unsigned short port() const { return amqp_port_; }
  // amqp://flashtix-<service>:<password>@127.0.0.1:<port>/: the URL `service` ("orders", ...) logs in with.
  std::string url(const std::string& service) const;
  // The password of a broker user ("flashtix-orders", ...); throws for any other user.
  const std::string& password(const std::string& user) const;

  // Why an AMQP login as `user` with `password` (and opening the default vhost) fails; empty when it
  // succeeds. Needs the node running.
  std::string login_error(const std::string& user, const std::string& password) const;

  // Stops the node gracefully, keeping its data; returns once it has exited, so the AMQP port is closed.
  void stop();
  // Starts it again with the same data, name and ports; returns once it accepts an AMQP login again.
  void start();
  bool running() const { return node_pid_ > 0; }

  // Messages ready plus unacknowledged in a queue of the default vhost, as `rabbitmqctl list_queues name
  // messages` reports them; 0 when there is no such queue. Needs the node running.
  std::int64_t queue_messages(const std::string& queue) const;

  const std::string& directory() const { return dir_; }
  std::string log_path() const { return dir_ + "/rabbitmq.log"; }
  std::string log_tail(std::size_t max_bytes = 4000) const;

 private:
  EnvVars environment() const;
  void write_files() const;
  void write_definitions() const;
  void start_epmd();
  void stop_epmd();
  void wait_until_accepting();

  std::string dir_;
  std::string node_name_;
  std::map<std::string, std::string> passwords_;  // by broker user
  unsigned short amqp_port_ = 0;
  unsigned short dist_port_ = 0;
  unsigned short epmd_port_ = 0;
  pid_t epmd_pid_ = -1;
  pid_t node_pid_ = -1;
  bool keep_all_ = false;
};

}  // namespace flashtix::test

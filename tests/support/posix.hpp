// The POSIX pieces the black-box harness shares: temporary directories, free ports, child processes, log tails.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flashtix::test {

using EnvVars = std::vector<std::pair<std::string, std::string>>;

// Creates a fresh, private directory /tmp/<prefix>XXXXXX and returns its path.
std::string make_temp_dir(const std::string& prefix);

// Removes a directory tree; a failure is reported on stderr, never thrown, so it is safe in destructors.
void remove_tree(const std::string& path) noexcept;

// Asks the kernel for a free TCP port on 127.0.0.1 (bind to port 0, read it back, close).
// The port is only free at that moment; the caller binds it soon after.
unsigned short free_tcp_port();

// The last `max_bytes` of a file, cut at a line start, or a note saying why it could not be read.
std::string file_tail(const std::string& path, std::size_t max_bytes = 4000);

// A system account a child runs as (the PostgreSQL server refuses to run as root).
struct RunAs {
  uid_t uid = 0;
  gid_t gid = 0;
};

// The `postgres` account when this process runs as root, nothing otherwise.
std::optional<RunAs> postgres_account_if_root();

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is the path of the program
  EnvVars env;                    // set on top of the inherited environment, replacing same-named variables
  // Inherited variables whose names start with one of these are dropped, so the caller's shell cannot
  // change what a test runs (e.g. a FLASHTIX_PORT exported in the developer's terminal).
  std::vector<std::string> drop_env_prefixes;
  std::string log_path;  // stdout and stderr are appended here
  std::optional<RunAs> run_as;
  // Sent to the child when the thread that spawned it dies, so a crashed test binary leaves no process behind.
  int parent_death_signal = SIGKILL;
};

// Forks and execs; the child leads its own process group (so a signal reaches anything it forks).
// Call it from a thread that lives as long as the child should (the parent-death signal follows the thread).
pid_t spawn(const SpawnOptions& options);

// Waits up to `timeout` for `pid` to exit; the raw wait status, or nothing while it still runs.
std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds timeout);

// A wait status as a shell shows it: the exit code, or 128 + the signal number.
int exit_code_of(int wait_status);

// Sends `signal` to the child and then SIGKILL to its process group after `grace`; returns the wait status.
int stop_process(pid_t pid, int signal, std::chrono::milliseconds grace);

// Waits for a server just spawned as `pid` to start: asks `not_ready` every `poll`, which answers "" once
// the server is ready, or else what it still does not do ("accept connections on port 5432"). Throws, with
// the tail of `log_path`, when the server exits meanwhile (then `pid` becomes -1: there is nothing to stop)
// or when `timeout` passes. `name` is the server's name in those errors.
void wait_until_started(pid_t& pid, std::string_view name, const std::function<std::string()>& not_ready,
                        std::chrono::seconds timeout, std::chrono::milliseconds poll, const std::string& log_path);

// Runs a program to completion within `timeout` (killed and thrown at after it) and returns its exit code.
int run_to_completion(const SpawnOptions& options, std::chrono::milliseconds timeout);

}  // namespace flashtix::test

// Child processes, temporary directories and ports for the harness, with plain POSIX calls.
#include "support/posix.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace flashtix::test {

namespace {

std::runtime_error system_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

// Only async-signal-safe calls may run between fork and exec in a process that may have threads,
// so the error number is written out by hand rather than through strerror or iostreams.
[[noreturn]] void child_fail(const char* what) {
  char digits[16];
  int length = 0;
  for (int number = errno; length == 0 || number > 0; number /= 10)
    digits[length++] = static_cast<char>('0' + number % 10);
  (void)!write(STDERR_FILENO, "spawn: ", 7);
  (void)!write(STDERR_FILENO, what, std::strlen(what));
  (void)!write(STDERR_FILENO, " failed, errno ", 15);
  while (length > 0) (void)!write(STDERR_FILENO, &digits[--length], 1);
  (void)!write(STDERR_FILENO, "\n", 1);
  _exit(127);
}

std::vector<std::string> child_environment(const SpawnOptions& options) {
  std::vector<std::string> result;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const std::string_view name = text.substr(0, text.find('='));
    bool keep = true;
    for (const auto& prefix : options.drop_env_prefixes) {
      if (name.substr(0, prefix.size()) == prefix) keep = false;
    }
    for (const auto& [key, value] : options.env) {
      if (name == key) keep = false;
    }
    if (keep) result.emplace_back(text);
  }
  for (const auto& [key, value] : options.env) result.push_back(key + "=" + value);
  return result;
}

}  // namespace

std::string make_temp_dir(const std::string& prefix) {
  std::string pattern = "/tmp/" + prefix + "XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw system_error("mkdtemp " + pattern);
  return pattern;
}

void remove_tree(const std::string& path) noexcept {
  if (path.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) std::cerr << "[harness] could not remove " << path << ": " << ec.message() << "\n";
}

unsigned short free_tcp_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw system_error("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const auto error = system_error("bind 127.0.0.1:0");
    ::close(fd);
    throw error;
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

std::string file_tail(const std::string& path, std::size_t max_bytes) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return "(" + path + " could not be read)";
  file.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(file.tellg());
  const std::size_t start = size > max_bytes ? size - max_bytes : 0;
  file.seekg(static_cast<std::streamoff>(start));
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (start > 0) {
    // Start at a whole line so the first line printed is not a fragment.
    const auto newline = text.find('\n');
    if (newline != std::string::npos) text.erase(0, newline + 1);
  }
  return text;
}

std::optional<RunAs> postgres_account_if_root() {
  if (::geteuid() != 0) return std::nullopt;
  const passwd* account = ::getpwnam("postgres");
  if (account == nullptr) throw std::runtime_error("running as root but there is no 'postgres' system user");
  return RunAs{account->pw_uid, account->pw_gid};
}

pid_t spawn(const SpawnOptions& options) {
  if (options.argv.empty()) throw std::invalid_argument("spawn: empty argv");

  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls are allowed.
  std::vector<char*> argv;
  for (const auto& arg : options.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  const std::vector<std::string> env_strings = child_environment(options);
  std::vector<char*> envp;
  for (const auto& entry : env_strings) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);

  const int log_fd = ::open(options.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw system_error("open " + options.log_path);
  if (options.run_as && ::fchown(log_fd, options.run_as->uid, options.run_as->gid) != 0) {
    const auto error = system_error("chown " + options.log_path);
    ::close(log_fd);
    throw error;
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    const auto error = system_error("open /dev/null");
    ::close(log_fd);
    throw error;
  }

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const auto error = system_error("fork");
    ::close(log_fd);
    ::close(null_fd);
    throw error;
  }
  if (pid == 0) {
    // dup2 clears close-on-exec on the copies, so exactly these three descriptors reach the program.
    if (::dup2(null_fd, STDIN_FILENO) < 0 || ::dup2(log_fd, STDOUT_FILENO) < 0 || ::dup2(log_fd, STDERR_FILENO) < 0) {
      child_fail("dup2");
    }
    if (::setpgid(0, 0) != 0) child_fail("setpgid");
    if (options.run_as) {
      const gid_t gid = options.run_as->gid;
      if (::setgroups(1, &gid) != 0 || ::setgid(gid) != 0 || ::setuid(options.run_as->uid) != 0) {
        child_fail("switching user");
      }
    }
    // Set after the user switch, which clears it; then make sure the parent did not die in between.
    if (::prctl(PR_SET_PDEATHSIG, options.parent_death_signal) != 0) child_fail("prctl");
    if (::getppid() != parent) _exit(126);
    ::execve(argv[0], argv.data(), envp.data());
    child_fail(argv[0]);
  }
  ::close(log_fd);
  ::close(null_fd);
  // Also set here, so a signal to the group cannot race the child's own setpgid.
  ::setpgid(pid, pid);
  return pid;
}

namespace {

// Waits for `pid` to exit without reaping it: while it is an unreaped zombie its id cannot be reused,
// so signalling its process group afterwards cannot hit a stranger.
bool wait_exited_unreaped(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw system_error("waitpid " + std::to_string(pid));
  }
  return status;
}

}  // namespace

std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds timeout) {
  if (!wait_exited_unreaped(pid, timeout)) return std::nullopt;
  return reap(pid);
}

int exit_code_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

int stop_process(pid_t pid, int signal, std::chrono::milliseconds grace) {
  ::kill(pid, signal);
  if (!wait_exited_unreaped(pid, grace)) ::kill(pid, SIGKILL);
  if (!wait_exited_unreaped(pid, std::chrono::seconds(10))) {
    throw std::runtime_error("process " + std::to_string(pid) + " survived SIGKILL");
  }
  // Anything the child forked into its group goes too, before the group's id can be reused.
  ::kill(-pid, SIGKILL);
  return reap(pid);
}

void wait_until_started(pid_t& pid, std::string_view name, const std::function<std::string()>& not_ready,
                        std::chrono::seconds timeout, std::chrono::milliseconds poll, const std::string& log_path) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const std::string missing = not_ready();
    if (missing.empty()) return;
    if (auto status = wait_for_exit(pid, std::chrono::milliseconds(0))) {
      pid = -1;
      throw std::runtime_error(std::string(name) + " exited with " + std::to_string(exit_code_of(*status)) +
                               " while starting; log tail (" + log_path + "):\n" + file_tail(log_path));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error(std::string(name) + " did not " + missing + " within " +
                               std::to_string(timeout.count()) + " s; log tail (" + log_path + "):\n" +
                               file_tail(log_path));
    }
    std::this_thread::sleep_for(poll);
  }
}

int run_to_completion(const SpawnOptions& options, std::chrono::milliseconds timeout) {
  const pid_t pid = spawn(options);
  if (auto status = wait_for_exit(pid, timeout)) return exit_code_of(*status);
  stop_process(pid, SIGKILL, std::chrono::seconds(5));
  std::ostringstream message;
  message << options.argv.front() << " did not finish within " << timeout.count() << " ms; log tail:\n"
          << file_tail(options.log_path);
  throw std::runtime_error(message.str());
}

}  // namespace flashtix::test

// Boots and stops a private RabbitMQ node for the black-box tests: the server script run directly (the
// /usr/sbin wrappers switch to the rabbitmq user and /var/lib/rabbitmq), with every path and port in the
// environment, next to an epmd of its own. Its settings and environment are ./flashtix's (embedded/), and
// its users are made by ./flashtix's own recipe (rabbit_write_definitions in embedded/rabbitmq.sh) from
// access/rabbitmq-users: definitions the node imports at boot, so no guest.
#include "support/rabbit_broker.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include "support/credentials.hpp"

#ifndef FLASHTIX_SOURCE_DIR
#error "FLASHTIX_SOURCE_DIR must name the source tree (access/rabbitmq-users, embedded/, ./flashtix)"
#endif

namespace flashtix::test {

namespace {

const std::string kRabbitBin = "/usr/lib/rabbitmq/bin";
const std::string kEpmd = "/usr/bin/epmd";
constexpr auto kStartTimeout = std::chrono::seconds(60);
constexpr auto kEpmdStartTimeout = std::chrono::seconds(5);
// A graceful stop flushes the message stores; it takes a few seconds.
constexpr auto kStopGrace = std::chrono::seconds(30);
constexpr auto kCtlTimeout = std::chrono::seconds(60);
constexpr auto kDefinitionsTimeout = std::chrono::seconds(60);
// Every read and write of the readiness probe.
constexpr int kProbeIoTimeoutMs = 2000;
constexpr std::size_t kMaxFrameBytes = 1 << 20;

// access/rabbitmq-users names each service's user flashtix-<service>.
const std::string kUserPrefix = "flashtix-";

// Two brokers in one binary still get their own node names.
std::atomic<int> broker_count{0};
std::atomic<int> ctl_call_count{0};

// ---- A minimal AMQP 0-9-1 client: just enough to log in, open the default vhost and close again.

using Bytes = std::string;

void put_u8(Bytes& out, unsigned value) { out.push_back(static_cast<char>(value & 0xff)); }
void put_u16(Bytes& out, unsigned value) {
  put_u8(out, value >> 8);
  put_u8(out, value);
}
void put_u32(Bytes& out, std::uint32_t value) {
  put_u16(out, value >> 16);
  put_u16(out, value & 0xffff);
}
void put_short_string(Bytes& out, const std::string& text) {
  put_u8(out, static_cast<unsigned>(text.size()));
  out += text;
}
void put_long_string(Bytes& out, const std::string& text) {
  put_u32(out, static_cast<std::uint32_t>(text.size()));
  out += text;
}

unsigned get_u16(const Bytes& in, std::size_t at) {
  return (static_cast<unsigned char>(in.at(at)) << 8) | static_cast<unsigned char>(in.at(at + 1));
}
std::uint32_t get_u32(const Bytes& in, std::size_t at) {
  return (static_cast<std::uint32_t>(get_u16(in, at)) << 16) | get_u16(in, at + 2);
}

constexpr std::uint32_t method_id(unsigned class_id, unsigned method) { return (class_id << 16) | method; }
constexpr std::uint32_t kConnectionStart = method_id(10, 10);
constexpr std::uint32_t kConnectionStartOk = method_id(10, 11);
constexpr std::uint32_t kConnectionTune = method_id(10, 30);
constexpr std::uint32_t kConnectionTuneOk = method_id(10, 31);
constexpr std::uint32_t kConnectionOpen = method_id(10, 40);
constexpr std::uint32_t kConnectionOpenOk = method_id(10, 41);
constexpr std::uint32_t kConnectionClose = method_id(10, 50);
constexpr std::uint32_t kConnectionCloseOk = method_id(10, 51);
constexpr unsigned kFrameMethod = 1;
constexpr unsigned kFrameEnd = 0xce;

class ProbeSocket {
 public:
  explicit ProbeSocket(unsigned short port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    if (fd_ < 0) throw std::runtime_error("socket failed");
    timeval timeout{kProbeIoTimeoutMs / 1000, (kProbeIoTimeoutMs % 1000) * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~ProbeSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  ProbeSocket(const ProbeSocket&) = delete;
  ProbeSocket& operator=(const ProbeSocket&) = delete;

  bool connected() const { return connected_; }

  bool send_all(const Bytes& data) {
    for (std::size_t sent = 0; sent < data.size();) {
      const ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  bool receive_exactly(Bytes& out, std::size_t size) {
    out.resize(size);
    for (std::size_t received = 0; received < size;) {
      const ssize_t n = ::recv(fd_, out.data() + received, size - received, 0);
      if (n <= 0) return false;
      received += static_cast<std::size_t>(n);
    }
    return true;
  }

  // The next method frame on channel 0 as (method id, arguments); heartbeats and other frames are skipped.
  std::optional<std::pair<std::uint32_t, Bytes>> receive_method() {
    for (;;) {
      Bytes header;
      if (!receive_exactly(header, 7)) return std::nullopt;
      const std::uint32_t size = get_u32(header, 3);
      Bytes payload;
      Bytes end;
      if (size > kMaxFrameBytes || !receive_exactly(payload, size) || !receive_exactly(end, 1)) return std::nullopt;
      if (static_cast<unsigned char>(end[0]) != kFrameEnd) return std::nullopt;
      if (static_cast<unsigned char>(header[0]) != kFrameMethod || payload.size() < 4) continue;
      return std::make_pair(get_u32(payload, 0), payload.substr(4));
    }
  }

  bool send_method(std::uint32_t method, const Bytes& arguments) {
    Bytes frame;
    put_u8(frame, kFrameMethod);
    put_u16(frame, 0);
    put_u32(frame, static_cast<std::uint32_t>(4 + arguments.size()));
    put_u32(frame, method);
    frame += arguments;
    put_u8(frame, kFrameEnd);
    return send_all(frame);
  }

 private:
  int fd_;
  bool connected_ = false;
};

// Why the broker refused: the reply code and text of its connection.close.
std::string close_reason(const Bytes& arguments) {
  if (arguments.size() < 3) return "connection.close";
  const std::size_t text_size = static_cast<unsigned char>(arguments[2]);
  return "connection.close " + std::to_string(get_u16(arguments, 0)) + " " + arguments.substr(3, text_size);
}

// Logs in and opens the default vhost, as a client would; empty on success, else what went wrong. An open
// port alone is not enough: the listener could belong to something else, or the login could fail.
std::string try_amqp_login(unsigned short port, const std::string& user, const std::string& password) {
  ProbeSocket socket(port);
  if (!socket.connected()) return "connection refused";
  if (!socket.send_all(std::string("AMQP\0\0\x09\x01", 8))) return "sending the protocol header failed";
  auto reply = socket.receive_method();
  if (!reply || reply->first != kConnectionStart) return "no connection.start (not an AMQP 0-9-1 broker?)";

  // Client properties: a refused login is then answered with connection.close and its reason, at once.
  Bytes capabilities;
  put_short_string(capabilities, "authentication_failure_close");
  put_u8(capabilities, 't');
  put_u8(capabilities, 1);
  Bytes properties;
  put_short_string(properties, "capabilities");
  put_u8(properties, 'F');
  put_u32(properties, static_cast<std::uint32_t>(capabilities.size()));
  properties += capabilities;
  Bytes start_ok;
  put_u32(start_ok, static_cast<std::uint32_t>(properties.size()));
  start_ok += properties;
  put_short_string(start_ok, "PLAIN");
  put_long_string(start_ok, std::string(1, '\0') + user + std::string(1, '\0') + password);
  put_short_string(start_ok, "en_US");
  if (!socket.send_method(kConnectionStartOk, start_ok)) return "sending connection.start-ok failed";
  reply = socket.receive_method();
  if (!reply) return "the broker closed the connection after the login (refused)";
  if (reply->first == kConnectionClose) return close_reason(reply->second);
  if (reply->first != kConnectionTune || reply->second.size() < 8) return "no connection.tune";

  Bytes tune_ok;
  put_u16(tune_ok, get_u16(reply->second, 0));  // channel-max as offered
  put_u32(tune_ok, get_u32(reply->second, 2));  // frame-max as offered
  put_u16(tune_ok, 0);                          // no heartbeats: the probe is over in milliseconds
  Bytes open;
  put_short_string(open, "/");
  put_short_string(open, "");
  put_u8(open, 0);
  if (!socket.send_method(kConnectionTuneOk, tune_ok) || !socket.send_method(kConnectionOpen, open)) {
    return "sending connection.open failed";
  }
  reply = socket.receive_method();
  if (!reply) return "the broker closed the connection instead of opening vhost /";
  if (reply->first == kConnectionClose) return close_reason(reply->second);
  if (reply->first != kConnectionOpenOk) return "no connection.open-ok";

  // A clean close, so the broker's log does not report a client that vanished.
  Bytes close;
  put_u16(close, 200);
  put_short_string(close, "");
  put_u16(close, 0);
  put_u16(close, 0);
  if (socket.send_method(kConnectionClose, close)) {
    while (auto last = socket.receive_method()) {
      if (last->first == kConnectionCloseOk) break;
    }
  }
  return "";
}

// ---- Files and processes

std::string random_cookie() {
  std::random_device device;
  std::uniform_int_distribution<int> letter(0, 25);
  std::string cookie;
  for (int i = 0; i < 32; ++i) cookie.push_back(static_cast<char>('A' + letter(device)));
  return cookie;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << text;
  if (!file.flush()) throw std::runtime_error("cannot write " + path);
}

bool port_accepts(unsigned short port) { return ProbeSocket(port).connected(); }

std::string read_text(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// A file of the source tree, which must be there.
std::string read_source_file(const std::string& relative_path) {
  const std::string path = std::string(FLASHTIX_SOURCE_DIR) + "/" + relative_path;
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot read " + path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

void replace_all(std::string& text, const std::string& placeholder, const std::string& value) {
  for (auto at = text.find(placeholder); at != std::string::npos; at = text.find(placeholder, at + value.size())) {
    text.replace(at, placeholder.size(), value);
  }
}

// One line of access/rabbitmq-users: a broker user and its permission patterns.
struct BrokerUser {
  std::string name, configure, write, read;
};

std::vector<BrokerUser> broker_users() {
  const std::string path = std::string(FLASHTIX_SOURCE_DIR) + "/access/rabbitmq-users";
  std::istringstream lines(read_text(path));
  std::vector<BrokerUser> users;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    BrokerUser user;
    if (!(fields >> user.name >> user.configure >> user.write >> user.read)) {
      throw std::runtime_error(path + ": not 'user configure write read': " + line);
    }
    users.push_back(std::move(user));
  }
  if (users.empty()) throw std::runtime_error(path + " names no user");
  return users;
}

}  // namespace

RabbitBroker::RabbitBroker() {
  dir_ = make_temp_dir("flashtix-rabbit-");
  keep_all_ = std::getenv("FLASHTIX_TEST_KEEP_DIRS") != nullptr;
  // Its own epmd makes the name unique already; the pid makes a kept directory easy to match to its run.
  node_name_ = "flashtix-test-" + std::to_string(::getpid()) + "-" + std::to_string(++broker_count) + "@localhost";
  try {
    for (const BrokerUser& user : broker_users()) passwords_[user.name] = random_password();
    amqp_port_ = free_tcp_port();
    while (dist_port_ == 0 || dist_port_ == amqp_port_) dist_port_ = free_tcp_port();
    while (epmd_port_ == 0 || epmd_port_ == amqp_port_ || epmd_port_ == dist_port_) epmd_port_ = free_tcp_port();
    write_files();
    start_epmd();
    start();
  } catch (...) {
    // A node that never booted is still cleaned up; its log is already in the exception's message.
    if (node_pid_ > 0) stop_process(node_pid_, SIGKILL, std::chrono::seconds(5));
    node_pid_ = -1;
    stop_epmd();
    if (!keep_all_) remove_tree(dir_);
    throw;
  }
}

RabbitBroker::~RabbitBroker() {
  try {
    stop();
  } catch (const std::exception& e) {
    std::cerr << "[harness] stopping RabbitMQ failed: " << e.what() << "\n";
  }
  stop_epmd();
  if (keep_all_) {
    std::cerr << "[harness] RabbitMQ directory kept: " << dir_ << "\n";
  } else {
    remove_tree(dir_);
  }
}

std::string RabbitBroker::url(const std::string& service) const {
  const std::string user = "flashtix-" + service;
  return "amqp://" + user + ":" + password(user) + "@127.0.0.1:" + std::to_string(amqp_port_) + "/";
}

const std::string& RabbitBroker::password(const std::string& user) const {
  const auto it = passwords_.find(user);
  if (it == passwords_.end()) throw std::logic_error("no broker user " + user + " (access/rabbitmq-users)");
  return it->second;
}

std::string RabbitBroker::login_error(const std::string& user, const std::string& password) const {
  return try_amqp_login(amqp_port_, user, password);
}

EnvVars RabbitBroker::environment() const {
  // ./flashtix's node environment (embedded/rabbitmq.env), with this node's directory, name and ports.
  const std::string path = "embedded/rabbitmq.env";
  const std::pair<std::string, std::string> values[] = {{"@DIR@", dir_},
                                                        {"@NODE@", node_name_},
                                                        {"@AMQP_PORT@", std::to_string(amqp_port_)},
                                                        {"@DIST_PORT@", std::to_string(dist_port_)},
                                                        {"@EPMD_PORT@", std::to_string(epmd_port_)}};
  EnvVars env;
  std::istringstream lines(read_source_file(path));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    for (const auto& [placeholder, value] : values) replace_all(line, placeholder, value);
    const auto equals = line.find('=');
    if (equals == std::string::npos || equals == 0) throw std::runtime_error(path + ": not NAME=value: " + line);
    env.emplace_back(line.substr(0, equals), line.substr(equals + 1));
  }
  // The harness's own: ctest may run without a locale, and rabbitmqctl warns about a Latin-1 VM then.
  env.emplace_back("LC_ALL", "C.UTF-8");
  return env;
}

void RabbitBroker::write_files() const {
  for (const char* sub : {"/home", "/mnesia", "/log"}) std::filesystem::create_directory(dir_ + sub);
  // The harness's own (./flashtix lets the node make its cookie at its first boot). Erlang refuses a
  // cookie file that others can read.
  const std::string cookie = dir_ + "/home/.erlang.cookie";
  write_text(cookie, random_cookie());
  if (::chmod(cookie.c_str(), 0400) != 0) throw std::runtime_error("chmod " + cookie + " failed");
  // As ./flashtix writes them (rabbit_prepare): no plugins, no settings from /etc, the log on stdout.
  write_text(dir_ + "/enabled_plugins", read_source_file("embedded/enabled_plugins"));
  write_text(dir_ + "/rabbitmq-env.conf", read_source_file("embedded/rabbitmq-env.conf"));
  write_text(dir_ + "/rabbitmq.conf",
             read_source_file("embedded/rabbitmq.conf") + "load_definitions = " + dir_ + "/definitions.json\n");
  write_definitions();
}

void RabbitBroker::write_definitions() const {
  // The passwords go where ./flashtix's recipe reads a state directory's (secrets/amqp-<service>-password),
  // never onto a command line.
  const std::string secrets = dir_ + "/secrets";
  std::filesystem::create_directory(secrets);
  std::filesystem::permissions(secrets, std::filesystem::perms::owner_all);
  for (const auto& [user, password] : passwords_) {
    const std::string service = user.rfind(kUserPrefix, 0) == 0 ? user.substr(kUserPrefix.size()) : user;
    const std::string path = secrets + "/amqp-" + service + "-password";
    write_text(path, password + "\n");
    if (::chmod(path.c_str(), 0600) != 0) throw std::runtime_error("chmod " + path + " failed");
  }
  SpawnOptions options;
  const std::string script = "source \"$1/flashtix\" && STATE=$2 && rabbit_write_definitions \"$2/definitions.json\"";
  options.argv = {"/bin/bash", "-c", script, "rabbit_write_definitions", FLASHTIX_SOURCE_DIR, dir_};
  options.log_path = dir_ + "/definitions.log";
  const int code = run_to_completion(options, kDefinitionsTimeout);
  if (code != 0) {
    throw std::runtime_error("rabbit_write_definitions (embedded/rabbitmq.sh) exited with " + std::to_string(code) +
                             ":\n" + file_tail(options.log_path));
  }
}

void RabbitBroker::start_epmd() {
  // In the foreground as our child, not -daemon: the parent-death signal then ends it with the test binary.
  // Started before the node, which would otherwise start a daemon epmd that outlives everything.
  SpawnOptions options;
  options.argv = {kEpmd, "-port", std::to_string(epmd_port_), "-address", "127.0.0.1"};
  options.drop_env_prefixes = {"ERL_"};
  options.log_path = dir_ + "/epmd.log";
  epmd_pid_ = spawn(options);
  const auto deadline = std::chrono::steady_clock::now() + kEpmdStartTimeout;
  while (!port_accepts(epmd_port_)) {
    if (auto status = wait_for_exit(epmd_pid_, std::chrono::milliseconds(0))) {
      epmd_pid_ = -1;
      throw std::runtime_error("epmd exited with " + std::to_string(exit_code_of(*status)) + " on port " +
                               std::to_string(epmd_port_) + "; its log:\n" + file_tail(options.log_path));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error("epmd did not listen on port " + std::to_string(epmd_port_) + " within 5 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void RabbitBroker::stop_epmd() {
  if (epmd_pid_ <= 0) return;
  const pid_t pid = epmd_pid_;
  epmd_pid_ = -1;
  try {
    stop_process(pid, SIGTERM, std::chrono::seconds(5));
  } catch (const std::exception& e) {
    std::cerr << "[harness] stopping epmd failed: " << e.what() << "\n";
  }
}

void RabbitBroker::start() {
  if (node_pid_ > 0) return;
  SpawnOptions options;
  options.argv = {kRabbitBin + "/rabbitmq-server"};
  options.env = environment();
  // The caller's RABBITMQ_* and ERL_* (ERL_FLAGS, ERL_LIBS...) must not change what the test runs.
  options.drop_env_prefixes = {"RABBITMQ_", "ERL_"};
  options.log_path = log_path();
  // The server script runs the VM as its child and turns SIGTERM into the node's graceful shutdown, so a
  // test binary that dies takes the node with it. SIGKILL would end the script alone and orphan the VM.
  options.parent_death_signal = SIGTERM;
  node_pid_ = spawn(options);
  wait_until_accepting();
}

void RabbitBroker::wait_until_accepting() {
  const auto not_logged_in = [this]() -> std::string {
    // Any of the users will do: each may open the default vhost.
    const std::string error = try_amqp_login(amqp_port_, passwords_.begin()->first, passwords_.begin()->second);
    if (error.empty()) return error;
    return "accept an AMQP login on port " + std::to_string(amqp_port_) + " (last attempt: " + error + ")";
  };
  wait_until_started(node_pid_, "RabbitMQ", not_logged_in, kStartTimeout, std::chrono::milliseconds(100), log_path());
}

void RabbitBroker::stop() {
  if (node_pid_ <= 0) return;
  const pid_t pid = node_pid_;
  node_pid_ = -1;
  // The script passes SIGTERM to the VM and waits for it, so once the script is gone the node is too.
  stop_process(pid, SIGTERM, kStopGrace);
}

std::int64_t RabbitBroker::queue_messages(const std::string& queue) const {
  SpawnOptions options;
  options.argv = {
      kRabbitBin + "/rabbitmqctl", "-n", node_name_, "list_queues", "-p", "/", "--silent", "name", "messages"};
  options.env = environment();
  options.drop_env_prefixes = {"RABBITMQ_", "ERL_"};
  options.log_path = dir_ + "/rabbitmqctl-" + std::to_string(++ctl_call_count) + ".out";
  const int code = run_to_completion(options, kCtlTimeout);
  const std::string output = read_text(options.log_path);
  std::filesystem::remove(options.log_path);
  if (code != 0) {
    throw std::runtime_error("rabbitmqctl list_queues exited with " + std::to_string(code) + ":\n" + output);
  }
  // One "name<TAB>messages" line a queue; anything else (a warning on stderr) is not a queue.
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    const auto tab = line.rfind('\t');
    if (tab != std::string::npos && line.substr(0, tab) == queue) return std::stoll(line.substr(tab + 1));
  }
  return 0;
}

std::string RabbitBroker::log_tail(std::size_t max_bytes) const { return file_tail(log_path(), max_bytes); }

}  // namespace flashtix::test

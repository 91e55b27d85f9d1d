// Logging: lines are made on the caller's thread and appended to a buffer under a short lock; a writer
// thread empties the buffer with one write(2) at a time, so lines of different threads never interleave.
#include "core/log.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace flashtix::core {
namespace {

// The writer wakes this often, or as soon as this much is waiting.
constexpr std::chrono::milliseconds kFlushInterval{50};
constexpr std::size_t kFlushBytes = 64 * 1024;
// Past this much waiting (a stalled disk), lines are dropped and counted rather than piling up in memory.
constexpr std::size_t kMaxBufferedBytes = 16 * 1024 * 1024;

std::atomic<int> g_level{static_cast<int>(LogLevel::info)};
std::atomic<bool> g_json{false};
std::atomic<bool> g_access_log{true};

std::string& service() {
  static std::string name;
  return name;
}

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
  }
  return "?";
}

void write_all(std::string_view text) {
  while (!text.empty()) {
    const ssize_t written = ::write(STDERR_FILENO, text.data(), text.size());
    // A log line is best effort: a failed write is not worth more than giving up on it.
    if (written <= 0) return;
    text.remove_prefix(static_cast<std::size_t>(written));
  }
}

class Writer {
 public:
  Writer() : thread_([this] { run(); }) {}
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void add(std::string line, bool now) {
    std::unique_lock lock(mutex_);
    if (now) {
      // In order: what was gathered first, then this line, before the caller goes on (it may be about
      // to die on purpose, as a failpoint does). The write lock is taken before the buffer's is let go,
      // as the writer thread does, so a batch it took earlier is out first and lines never interleave.
      std::string gathered;
      gathered.swap(buffer_);
      const std::lock_guard writing(write_mutex_);
      lock.unlock();
      write_all(gathered);
      write_all(line);
      return;
    }
    if (buffer_.size() + line.size() > kMaxBufferedBytes) {
      ++dropped_;
      return;
    }
    buffer_ += line;
    const bool full = buffer_.size() >= kFlushBytes;
    lock.unlock();
    if (full) ready_.notify_one();
  }

  void flush() {
    std::unique_lock lock(mutex_);
    std::string gathered;
    gathered.swap(buffer_);
    const std::lock_guard writing(write_mutex_);
    lock.unlock();
    write_all(gathered);
  }

 private:
  void run() {
    std::string batch;
    std::unique_lock lock(mutex_);
    for (;;) {
      ready_.wait_for(lock, kFlushInterval, [this] { return buffer_.size() >= kFlushBytes; });
      batch.swap(buffer_);
      const std::size_t dropped = std::exchange(dropped_, 0);
      {
        const std::lock_guard writing(write_mutex_);
        lock.unlock();
        if (dropped > 0) batch += "log: " + std::to_string(dropped) + " lines dropped (the log did not keep up)\n";
        write_all(batch);
      }
      batch.clear();
      lock.lock();
    }
  }

  std::mutex mutex_;        // the buffer
  std::mutex write_mutex_;  // standard error; taken while mutex_ is held, never the other way round
  std::condition_variable ready_;
  std::string buffer_;
  std::size_t dropped_ = 0;
  std::thread thread_;
};

// Made on first use and never destroyed: lines may be logged while the process exits; what is gathered
// is written by the exit handler that configure_logging registers.
Writer& writer() {
  static Writer* instance = new Writer;
  return *instance;
}

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  // Most values need no escaping (ids, routes, numbers): appended whole.
  const bool plain = std::all_of(text.begin(), text.end(), [](char c) {
    return c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20;
  });
  if (plain) {
    out += text;
    out += '"';
    return;
  }
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (byte < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

// RFC 3339 UTC with milliseconds. The date and time of day are formatted once a second per thread: an
// access line per request should not cost a calendar computation each.
void append_timestamp(std::string& out) {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const auto since_epoch_ms = duration_cast<milliseconds>(now.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(since_epoch_ms / 1000);
  const int millis = static_cast<int>(since_epoch_ms % 1000);
  thread_local std::time_t formatted_second = -1;
  thread_local char formatted[24];
  thread_local std::size_t formatted_length = 0;
  if (seconds != formatted_second) {
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    formatted_length = std::strftime(formatted, sizeof formatted, "%Y-%m-%dT%H:%M:%S", &utc);
    formatted_second = seconds;
  }
  out.append(formatted, formatted_length);
  const char fraction[6] = {'.', static_cast<char>('0' + millis / 100), static_cast<char>('0' + millis / 10 % 10),
                            static_cast<char>('0' + millis % 10), 'Z', '\0'};
  out.append(fraction, 5);
}

}  // namespace

LogLevel parse_log_level(std::string_view text) {
  if (text == "debug") return LogLevel::debug;
  if (text == "info") return LogLevel::info;
  if (text == "warn") return LogLevel::warn;
  if (text == "error") return LogLevel::error;
  throw std::invalid_argument("log level must be debug, info, warn or error");
}

void set_log_level(LogLevel level) { g_level.store(static_cast<int>(level), std::memory_order_relaxed); }

bool log_enabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

std::vector<ConfigOption> log_options() {
  return {
      {"log-level", "info", "debug, info, warn or error"},
      {"log-format", "auto", "json, text, or auto (json unless standard error is a terminal)"},
      {"access-log", "on", "on: one line per answered request; off: none"},
  };
}

void configure_logging(std::string name, const Config& config) {
  service() = std::move(name);
  set_log_level(parse_log_level(config.get("log-level")));
  const std::string& format = config.get("log-format");
  if (format == "auto") {
    g_json = ::isatty(STDERR_FILENO) == 0;
  } else if (format == "json" || format == "text") {
    g_json = format == "json";
  } else {
    throw std::invalid_argument("--log-format must be json, text or auto");
  }
  const std::string& access = config.get("access-log");
  if (access != "on" && access != "off") throw std::invalid_argument("--access-log must be on or off");
  g_access_log = access == "on";
  // Gathered lines are written when the process ends normally, whichever way main returns.
  writer();
  std::atexit([] { writer().flush(); });
}

const std::string& service_name() { return service(); }

bool access_log_enabled() { return g_access_log.load(std::memory_order_relaxed); }

void write_log_line(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  std::string line;
  line.reserve(128 + message.size());
  if (g_json.load(std::memory_order_relaxed)) {
    line += "{\"time\":\"";
    append_timestamp(line);
    line += "\",\"level\":\"";
    line += level_name(level);
    line += "\",\"service\":";
    append_json_string(line, service());
    line += ",\"message\":";
    append_json_string(line, message);
    for (const LogField& field : fields) {
      line += ',';
      append_json_string(line, field.name);
      line += ':';
      if (field.quoted) {
        append_json_string(line, field.value);
      } else {
        line += field.value;
      }
    }
    line += "}\n";
  } else {
    append_timestamp(line);
    line += ' ';
    line += level_name(level);
    line += ' ';
    line += message;
    for (const LogField& field : fields) {
      line += ' ';
      line += field.name;
      line += '=';
      line += field.value;
    }
    line += '\n';
  }
  // Errors at once (a process may be about to end); warnings may come in floods (a database outage
  // answers every request with one), so they are gathered like the rest.
  writer().add(std::move(line), level >= LogLevel::error);
}

void flush_log() { writer().flush(); }

void LogIfFailed::operator()(std::exception_ptr error) const {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    log_error(what, " failed: ", e.what());
  }
}

}  // namespace flashtix::core

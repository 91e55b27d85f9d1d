// Logging: one line per call, as JSON (for log shippers) or as text (for a terminal), safe from any thread.
// Lines are gathered and written by one thread of their own, a few times a second or sooner when they pile
// up, so that a request never waits for a write; errors are written at once.
#pragma once

#include <exception>
#include <initializer_list>
#include <sstream>
#include <string>
#include <string_view>

#include "core/config.hpp"

namespace flashtix::core {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };
enum class LogFormat { text, json };

// Parses "debug" | "info" | "warn" | "error"; anything else is an error.
LogLevel parse_log_level(std::string_view text);
void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);

// log-level, log-format (auto: JSON unless standard error is a terminal) and access-log, common to every
// service; `service` names every line. Throws std::invalid_argument for a bad value.
std::vector<ConfigOption> log_options();
void configure_logging(std::string service, const Config& config);
const std::string& service_name();
// One JSON line per answered request (method, route, status, duration_ms, request_id, trace_id).
bool access_log_enabled();

// One field of a structured line; `quoted` is false for numbers.
struct LogField {
  std::string_view name;
  std::string_view value;
  bool quoted = true;
};
void write_log_line(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {});
// Writes what is gathered now; for the moment before a process ends on purpose.
void flush_log();

template <class... Parts>
void log(LogLevel level, const Parts&... parts) {
  if (!log_enabled(level)) return;
  std::ostringstream line;
  (line << ... << parts);
  write_log_line(level, line.str());
}

template <class... Parts>
void log_debug(const Parts&... parts) { log(LogLevel::debug, parts...); }
template <class... Parts>
void log_info(const Parts&... parts) { log(LogLevel::info, parts...); }
template <class... Parts>
void log_warn(const Parts&... parts) { log(LogLevel::warn, parts...); }
template <class... Parts>
void log_error(const Parts&... parts) { log(LogLevel::error, parts...); }

// The completion handler for co_spawn: a coroutine that ends with an exception is logged, never lost.
struct LogIfFailed {
  std::string what;
  void operator()(std::exception_ptr error) const;
};

}  // namespace flashtix::core

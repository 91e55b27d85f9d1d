// One-line structured-enough logging to stderr, safe to call from any thread.
#pragma once

#include <exception>
#include <sstream>
#include <string>
#include <string_view>

namespace flashtix::core {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

// Parses "debug" | "info" | "warn" | "error"; anything else is an error.
LogLevel parse_log_level(std::string_view text);
void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);
void write_log_line(LogLevel level, std::string_view message);

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

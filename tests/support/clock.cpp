#include "support/clock.hpp"

#include <ctime>
#include <thread>

namespace flashtix::test {

std::string utc_in(std::chrono::milliseconds from_now) {
  const auto at = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now() + from_now);
  const std::time_t seconds = std::chrono::system_clock::to_time_t(at);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  const auto millis = at.time_since_epoch().count() % 1000;
  return std::string(text) + "." + std::to_string(1000 + millis).substr(1) + "Z";
}

void sleep_until_utc(const std::string& instant) {
  while (utc_in(std::chrono::milliseconds(0)) < instant) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

}  // namespace flashtix::test

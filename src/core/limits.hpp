// A service's limits as flags: each flag bound to one member of the service's limits struct, with its
// range and its help. The member's initial value is the flag's default, so a default is written once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "core/config.hpp"

namespace flashtix::core {

namespace detail {

template <class T>
struct is_duration : std::false_type {};
template <class Rep, class Period>
struct is_duration<std::chrono::duration<Rep, Period>> : std::true_type {};

// A duration is counted in its own unit, which the flag's name says (`-ms`, `-seconds`).
template <class Value>
std::int64_t count_of(const Value& value) {
  if constexpr (is_duration<Value>::value) {
    return static_cast<std::int64_t>(value.count());
  } else {
    static_assert(std::is_integral_v<Value>, "a limit is an integer or a duration");
    return static_cast<std::int64_t>(value);
  }
}

template <class Value>
Value value_of(std::int64_t count) {
  if constexpr (is_duration<Value>::value) {
    return Value(static_cast<typename Value::rep>(count));
  } else {
    return static_cast<Value>(count);
  }
}

}  // namespace detail

template <class Limits>
class LimitFlags {
 public:
  // One flag for `Limits::*member`, accepted from `min` to `max`.
  template <class Value>
  LimitFlags& add(std::string flag, Value Limits::*member, std::int64_t min, std::int64_t max, std::string help) {
    entries_.push_back(
        Entry{std::move(flag), std::move(help), min, max,
              [member](const Limits& limits) { return detail::count_of(limits.*member); },
              [member](Limits& limits, std::int64_t count) { limits.*member = detail::value_of<Value>(count); }});
    return *this;
  }
  // One flag for a member of a group of limits (`&Limits::desk, &DeskLimits::max_batch`).
  template <class Group, class Value>
  LimitFlags& add(std::string flag, Group Limits::*group, Value Group::*member, std::int64_t min, std::int64_t max,
                  std::string help) {
    entries_.push_back(Entry{std::move(flag), std::move(help), min, max,
                             [group, member](const Limits& limits) { return detail::count_of(limits.*group.*member); },
                             [group, member](Limits& limits, std::int64_t count) {
                               limits.*group.*member = detail::value_of<Value>(count);
                             }});
    return *this;
  }

  // The flags, each with its default: the value of a default-constructed Limits.
  std::vector<ConfigOption> options() const {
    const Limits defaults{};
    std::vector<ConfigOption> list;
    for (const Entry& entry : entries_) {
      const std::int64_t value = entry.get(defaults);
      // A default its own flag would refuse is a bug here, not a configuration mistake.
      if (value < entry.min || value > entry.max) {
        throw std::logic_error("the default of --" + entry.flag + " (" + std::to_string(value) + ") is outside " +
                               std::to_string(entry.min) + " to " + std::to_string(entry.max));
      }
      list.push_back({entry.flag, std::to_string(value), entry.help});
    }
    return list;
  }

  // A default Limits with every flag's value read, then checked as a whole where Limits has a check():
  // throws std::invalid_argument naming the flag (and its environment variable) whose value is not an
  // integer in its range, or the flags that disagree.
  Limits read(const Config& config) const {
    Limits limits{};
    for (const Entry& entry : entries_) entry.set(limits, config.get_int(entry.flag, entry.min, entry.max));
    if constexpr (requires(const Limits& read_limits) { read_limits.check(); }) limits.check();
    return limits;
  }

 private:
  struct Entry {
    std::string flag;
    std::string help;
    std::int64_t min;
    std::int64_t max;
    std::function<std::int64_t(const Limits&)> get;
    std::function<void(Limits&, std::int64_t)> set;
  };
  std::vector<Entry> entries_;
};

}  // namespace flashtix::core

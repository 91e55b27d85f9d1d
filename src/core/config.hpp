// Configuration from flags (--name=value), FLASHTIX_* environment variables and defaults, in that order.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace flashtix::core {

struct ConfigOption {
  std::string name;  // flag name without dashes, e.g. "port"; env is FLASHTIX_PORT
  std::string default_value;
  std::string help;
};

class Config {
 public:
  Config(std::string program, std::vector<ConfigOption> options);

  // Reads flags and the environment. Prints usage and exits 0 on --help, the version on --version;
  // throws std::invalid_argument on an unknown flag or a flag without a value.
  void parse(int argc, const char* const* argv);

  const std::string& get(const std::string& name) const;
  // An integer option within [min, max]; throws std::invalid_argument naming the option otherwise.
  std::int64_t get_int(const std::string& name, std::int64_t min, std::int64_t max) const;

  std::string usage() const;

 private:
  std::string program_;
  std::vector<ConfigOption> options_;
  std::map<std::string, std::string> values_;
};

// "max-body-bytes" -> "FLASHTIX_MAX_BODY_BYTES".
std::string env_name_for(const std::string& option_name);

}  // namespace flashtix::core

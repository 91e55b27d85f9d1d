// Configuration parsing: defaults, then FLASHTIX_* environment, then flags.
#include "core/config.hpp"

#include "core/version.hpp"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <iostream>
#include <stdexcept>

namespace flashtix::core {

std::string env_name_for(const std::string& option_name) {
  std::string env = "FLASHTIX_";
  for (char c : option_name) env += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return env;
}

Config::Config(std::string program, std::vector<ConfigOption> options)
    : program_(std::move(program)), options_(std::move(options)) {
  for (const auto& option : options_) values_[option.name] = option.default_value;
}

void Config::parse(int argc, const char* const* argv) {
  for (const auto& option : options_) {
    if (const char* env = std::getenv(env_name_for(option.name).c_str())) values_[option.name] = env;
  }
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage();
      std::exit(0);
    }
    if (arg == "--version") {
      std::cout << program_ << " " << build_version() << "\n";
      std::exit(0);
    }
    if (arg.rfind("--", 0) != 0) throw std::invalid_argument("unexpected argument '" + arg + "'");
    std::string name = arg.substr(2);
    std::string value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      throw std::invalid_argument("flag --" + name + " needs a value");
    }
    if (!values_.contains(name)) throw std::invalid_argument("unknown flag --" + name + " (see --help)");
    values_[name] = value;
  }
}

const std::string& Config::get(const std::string& name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) throw std::logic_error("option '" + name + "' was never declared");
  return it->second;
}

std::int64_t Config::get_int(const std::string& name, std::int64_t min, std::int64_t max) const {
  const std::string& text = get(name);
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max) {
    throw std::invalid_argument("--" + name + " (" + env_name_for(name) + ") must be an integer from " +
                                std::to_string(min) + " to " + std::to_string(max) + ", got '" + text + "'");
  }
  return value;
}

std::string Config::usage() const {
  std::string text = "usage: " + program_ + " [--option=value ...]\n\noptions (flag, environment, default):\n";
  for (const auto& option : options_) {
    text += "  --" + option.name + "  " + env_name_for(option.name) + "  [" + option.default_value + "]\n      " +
            option.help + "\n";
  }
  return text;
}

}  // namespace flashtix::core

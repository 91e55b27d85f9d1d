// Runs the parser as a child process on a copy of the body.
#include "support/metrics.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "support/http_client.hpp"
#include "support/posix.hpp"

#ifndef FLASHTIX_SOURCE_DIR
#error "FLASHTIX_SOURCE_DIR must name the source tree"
#endif

namespace flashtix::test {

Samples scrape_metrics(unsigned short port) {
  const HttpResponse answer = http_request(port, "GET", "/metrics");
  if (answer.status != 200) throw std::runtime_error("GET /metrics: " + answer.describe());
  if (answer.header("Content-Type").rfind("text/plain; version=0.0.4", 0) != 0) {
    throw std::runtime_error("GET /metrics answered Content-Type " + answer.header("Content-Type"));
  }
  const std::string dir = make_temp_dir("flashtix-metrics-");
  const std::string body_path = dir + "/metrics.txt";
  std::ofstream(body_path) << answer.body;
  SpawnOptions options;
  options.argv = {"/usr/bin/python3", std::string(FLASHTIX_SOURCE_DIR) + "/tests/support/metrics_text.py", body_path};
  options.log_path = dir + "/parsed.txt";
  const int status = run_to_completion(options, std::chrono::seconds(30));
  std::ifstream parsed(options.log_path);
  std::stringstream text;
  text << parsed.rdbuf();
  remove_tree(dir);
  if (status != 0) throw std::runtime_error("/metrics does not parse: " + text.str().substr(0, 2000));
  Samples samples;
  std::string line;
  while (std::getline(text, line)) {
    const std::size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

double sample(const Samples& samples, const std::string& key) {
  const auto found = samples.find(key);
  return found == samples.end() ? 0.0 : found->second;
}

}  // namespace flashtix::test

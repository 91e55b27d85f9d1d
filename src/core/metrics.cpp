// One registry per process. prometheus-cpp rather than text of our own: its families, label escaping and
// histogram series are the format's reference implementation in C++, and Debian ships it.
#include "core/metrics.hpp"

#include <prometheus/text_serializer.h>

#include <chrono>
#include <mutex>
#include <vector>

namespace flashtix::core::metrics {

namespace {

std::mutex g_refresh_mutex;
std::vector<std::function<void()>>& refreshers() {
  static std::vector<std::function<void()>> list;
  return list;
}

}  // namespace

prometheus::Registry& registry() {
  static prometheus::Registry instance;
  return instance;
}

prometheus::Counter& counter(const std::string& name, const std::string& help, const prometheus::Labels& labels) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry()).Add(labels);
}

prometheus::Gauge& gauge(const std::string& name, const std::string& help, const prometheus::Labels& labels) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry()).Add(labels);
}

prometheus::Histogram& histogram(const std::string& name, const std::string& help, const prometheus::Labels& labels,
                                 const prometheus::Histogram::BucketBoundaries& buckets) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(registry()).Add(labels, buckets);
}

const prometheus::Histogram::BucketBoundaries& latency_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                               0.1,   0.25,   0.5,   1,    2.5,   5, 10};
  return buckets;
}

const prometheus::Histogram::BucketBoundaries& size_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
  return buckets;
}

void on_scrape(std::function<void()> refresh) {
  const std::lock_guard lock(g_refresh_mutex);
  refreshers().push_back(std::move(refresh));
}

std::string exposition() {
  {
    const std::lock_guard lock(g_refresh_mutex);
    for (const auto& refresh : refreshers()) refresh();
  }
  return prometheus::TextSerializer().Serialize(registry().Collect());
}

void describe_process(const std::string& service, const std::string& version) {
  gauge("flashtix_build_info", "The service and the version of its build; always 1",
        {{"service", service}, {"version", version}})
      .Set(1);
  const auto started = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch());
  gauge("process_start_time_seconds", "When the process started, in seconds since the Unix epoch").Set(started.count());
}

}  // namespace flashtix::core::metrics

// The process's Prometheus metrics: prometheus-cpp's registry and text format, served at GET /metrics.
// Metrics are made once (at start, or the first time a label set is seen) and kept: a family looks its
// labels up under a lock, incrementing a kept counter does not.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <functional>
#include <string>
#include <string_view>

namespace flashtix::core::metrics {

prometheus::Registry& registry();

prometheus::Counter& counter(const std::string& name, const std::string& help, const prometheus::Labels& labels = {});
prometheus::Gauge& gauge(const std::string& name, const std::string& help, const prometheus::Labels& labels = {});
prometheus::Histogram& histogram(const std::string& name, const std::string& help, const prometheus::Labels& labels,
                                 const prometheus::Histogram::BucketBoundaries& buckets);

// Seconds, from 1 ms to 10 s: request and call latencies.
const prometheus::Histogram::BucketBoundaries& latency_buckets();
// 1 to 1024 by powers of two: how many requests went together (batch sizes).
const prometheus::Histogram::BucketBoundaries& size_buckets();

// Run before every scrape, from the scraping thread: gauges of state that is read rather than counted
// (connections in use, the outbox's oldest row). Register at start, before the server runs.
void on_scrape(std::function<void()> refresh);

// The whole registry in the Prometheus text exposition format (version 0.0.4).
std::string exposition();
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

// flashtix_build_info{service, version} 1 and process_start_time_seconds, once per process.
void describe_process(const std::string& service, const std::string& version);

}  // namespace flashtix::core::metrics

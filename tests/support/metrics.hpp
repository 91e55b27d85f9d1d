// /metrics as a test reads it: fetched over HTTP and parsed by the Prometheus client library's parser
// (tests/support/metrics_text.py), so the format is checked by code that is not ours.
#pragma once

#include <map>
#include <string>

namespace flashtix::test {

// Every sample, keyed `name{label="value",...}` with the labels sorted. Throws, quoting the parser, when
// the answer is not 200 or not the exposition format.
using Samples = std::map<std::string, double>;
Samples scrape_metrics(unsigned short port);

// A sample's value, 0 when it is absent (a counter no request has touched yet).
double sample(const Samples& samples, const std::string& key);

}  // namespace flashtix::test

// Instants as the API writes them, for tests of what happens at a given time.
#pragma once

#include <chrono>
#include <string>

namespace flashtix::test {

// The instant `from_now` away as RFC 3339 in UTC with milliseconds ("2026-12-05T18:00:00.000Z"); two such
// strings compare as their instants do.
std::string utc_in(std::chrono::milliseconds from_now);

// Returns once this machine's clock has reached `instant` (a string of utc_in's form).
void sleep_until_utc(const std::string& instant);

}  // namespace flashtix::test

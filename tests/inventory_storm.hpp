// Shared by the inventory concurrency tests: small answer helpers, and the seeded storm of every
// operation on one event that ends with every answer and the books checked.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "inventory_harness.hpp"

namespace flashtix::test {

// A reserve body; an empty key and a zero hold time are left out.
std::string reserve_body(std::int64_t event_id, std::int64_t quantity, const std::string& key = "",
                         std::int64_t hold_seconds = 0);
boost::json::value parse_or_null(const std::string& text);
// A problem's "code", or "" for anything else.
std::string code_of(const boost::json::value& body);
std::string describe(const LoadResult& result);

// A seeded storm on a new event of 150 tickets, for 3 s: 12 clients reserve (1 to 3 tickets, a third of
// the holds for 1 s), confirm, release (by id or key) and retry, each over `ports` in turn. Every answer
// must fit what the client knew of its hold; afterwards every hold past its time must be swept within
// about a second, the ledger must balance, and every hold's stored status must be what its client was
// told. Failures are reported to GoogleTest.
void run_storm(const std::vector<unsigned short>& ports);

}  // namespace flashtix::test

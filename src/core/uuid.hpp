// Random (version 4) UUIDs for ids made before they reach the database, such as an order id.
#pragma once

#include <string>
#include <string_view>

namespace flashtix::core {

// A new random UUID in its canonical lower-case text form.
std::string random_uuid();

// True when `text` is a UUID in canonical text form (any case).
bool is_uuid(std::string_view text);

}  // namespace flashtix::core

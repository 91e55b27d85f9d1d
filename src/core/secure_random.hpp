// Random bytes from the operating system's CSPRNG (getrandom), for ids and secrets that must not be
// guessed: an order id is its hold's key, and a token is a credential.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace flashtix::core {

// Fills `out`; throws std::system_error when the kernel refuses.
void fill_random(std::span<std::uint8_t> out);

// `bytes` random bytes as lower-case hex (twice as many characters).
std::string random_hex(std::size_t bytes);

// Lower-case hex, two digits per byte.
std::string hex_encode(std::span<const std::uint8_t> bytes);

}  // namespace flashtix::core

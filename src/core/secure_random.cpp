// getrandom(2) through a small per-thread buffer: one system call per 4 KiB instead of one per id.
#include "core/secure_random.hpp"

#include <sys/random.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

namespace flashtix::core {

namespace {

void fill_from_kernel(std::uint8_t* out, std::size_t size) {
  while (size > 0) {
    const ssize_t got = ::getrandom(out, size, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    out += got;
    size -= static_cast<std::size_t>(got);
  }
}

struct Buffer {
  std::array<std::uint8_t, 4096> bytes;
  std::size_t used = bytes.size();
};

}  // namespace

void fill_random(std::span<std::uint8_t> out) {
  thread_local Buffer buffer;
  std::size_t done = 0;
  while (done < out.size()) {
    if (buffer.used == buffer.bytes.size()) {
      fill_from_kernel(buffer.bytes.data(), buffer.bytes.size());
      buffer.used = 0;
    }
    const std::size_t take = std::min(out.size() - done, buffer.bytes.size() - buffer.used);
    std::memcpy(out.data() + done, buffer.bytes.data() + buffer.used, take);
    // Bytes handed out are wiped, so no two callers ever see the same ones.
    std::memset(buffer.bytes.data() + buffer.used, 0, take);
    buffer.used += take;
    done += take;
  }
}

std::string random_hex(std::size_t bytes) {
  std::vector<std::uint8_t> raw(bytes);
  fill_random(raw);
  return hex_encode(raw);
}

std::string hex_encode(std::span<const std::uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  text.reserve(2 * bytes.size());
  for (const std::uint8_t byte : bytes) {
    text += kHex[byte >> 4];
    text += kHex[byte & 0xF];
  }
  return text;
}

}  // namespace flashtix::core

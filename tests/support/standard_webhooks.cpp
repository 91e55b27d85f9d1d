// HMAC-SHA256 and base64 straight from OpenSSL, the comparison in constant time (CRYPTO_memcmp).
#include "support/standard_webhooks.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>
#include <vector>

namespace flashtix::test {

namespace {

constexpr std::string_view kPrefix = "whsec_";

std::string to_base64(const unsigned char* bytes, std::size_t size) {
  std::vector<unsigned char> text(4 * ((size + 2) / 3) + 1);
  const int length = EVP_EncodeBlock(text.data(), bytes, static_cast<int>(size));
  return std::string(reinterpret_cast<const char*>(text.data()), static_cast<std::size_t>(length));
}

// The key of a whsec_ secret; throws when the test gave a malformed one.
std::vector<unsigned char> key_of(const std::string& secret) {
  if (secret.rfind(kPrefix, 0) != 0) throw std::invalid_argument("a test webhook secret starts with whsec_");
  const std::string encoded = secret.substr(kPrefix.size());
  std::vector<unsigned char> key(encoded.size() / 4 * 3 + 3);
  const int length = EVP_DecodeBlock(key.data(), reinterpret_cast<const unsigned char*>(encoded.data()),
                                     static_cast<int>(encoded.size()));
  if (length < 0 || encoded.size() % 4 != 0) throw std::invalid_argument("a test webhook secret is not base64");
  std::size_t padding = 0;
  for (auto it = encoded.rbegin(); it != encoded.rend() && *it == '='; ++it) ++padding;
  key.resize(static_cast<std::size_t>(length) - padding);
  return key;
}

std::array<unsigned char, 32> hmac_sha256(const std::vector<unsigned char>& key, const std::string& content) {
  std::array<unsigned char, 32> mac{};
  unsigned int size = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac.data(), &size) ||
      size != mac.size()) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return mac;
}

std::string signed_content(std::string_view id, std::string_view timestamp, std::string_view body) {
  return std::string(id) + "." + std::string(timestamp) + "." + std::string(body);
}

std::optional<std::int64_t> integer(const std::string& text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return std::stoll(text);
}

}  // namespace

std::optional<std::string> verify_delivery(const std::string& secret, const SignedDelivery& delivery,
                                           std::int64_t now_seconds) {
  if (delivery.id.empty() || delivery.timestamp.empty() || delivery.signature.empty()) {
    return "a webhook-id, webhook-timestamp or webhook-signature header is missing";
  }
  const std::optional<std::int64_t> timestamp = integer(delivery.timestamp);
  if (!timestamp) return "webhook-timestamp is not unix seconds";
  if (*timestamp < now_seconds - kWebhookTimestampTolerance.count() ||
      *timestamp > now_seconds + kWebhookTimestampTolerance.count()) {
    return "webhook-timestamp is more than 5 minutes from now";
  }
  const auto expected = hmac_sha256(key_of(secret), signed_content(delivery.id, delivery.timestamp, delivery.body));
  const std::string expected_text = to_base64(expected.data(), expected.size());
  // A space-separated list; entries of other schemes (v1a, ...) are skipped.
  std::string_view rest = delivery.signature;
  while (!rest.empty()) {
    const std::size_t space = rest.find(' ');
    const std::string_view entry = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
    if (entry.rfind("v1,", 0) != 0) continue;
    const std::string_view given = entry.substr(3);
    if (given.size() == expected_text.size() &&
        CRYPTO_memcmp(given.data(), expected_text.data(), expected_text.size()) == 0) {
      return std::nullopt;
    }
  }
  return "no v1 signature matches";
}

std::string sign_delivery(const std::string& secret, std::string_view id, std::string_view timestamp,
                          std::string_view body) {
  const auto mac = hmac_sha256(key_of(secret), signed_content(id, timestamp, body));
  return "v1," + to_base64(mac.data(), mac.size());
}

std::string random_webhook_secret() {
  std::array<unsigned char, 32> key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) throw std::runtime_error("RAND_bytes failed");
  return std::string(kPrefix) + to_base64(key.data(), key.size());
}

std::int64_t unix_seconds_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace flashtix::test

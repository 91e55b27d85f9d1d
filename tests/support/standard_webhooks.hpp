// The receiving side of Standard Webhooks (https://www.standardwebhooks.com) for tests: checks a delivery's
// webhook-signature with OpenSSL's HMAC, written apart from the service's signer so that each checks the other.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace flashtix::test {

// How far a delivery's webhook-timestamp may be from the receiver's clock, as the specification advises.
inline constexpr std::chrono::seconds kWebhookTimestampTolerance{300};

// What a receiver checks: the three headers and the raw body.
struct SignedDelivery {
  std::string id;         // webhook-id
  std::string timestamp;  // webhook-timestamp
  std::string signature;  // webhook-signature
  std::string body;
};

// Nothing when `delivery` verifies with `secret` (whsec_<base64>) at `now_seconds`; otherwise why not: a
// header missing, a timestamp that is not an integer or too far from now, no v1 signature that matches.
std::optional<std::string> verify_delivery(const std::string& secret, const SignedDelivery& delivery,
                                           std::int64_t now_seconds);

// "v1,<base64 HMAC-SHA256>" of "<id>.<timestamp>.<body>", for tests that forge deliveries.
std::string sign_delivery(const std::string& secret, std::string_view id, std::string_view timestamp,
                          std::string_view body);

// A new whsec_ secret of 32 random bytes.
std::string random_webhook_secret();

std::int64_t unix_seconds_now();

}  // namespace flashtix::test

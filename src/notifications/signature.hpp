// Standard Webhooks signatures (https://www.standardwebhooks.com): the whsec_ secrets notifications is
// given, and the webhook-signature it sends with every delivery so that a receiver can tell it is ours.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace flashtix::notifications {

inline constexpr std::string_view kWebhookSecretPrefix = "whsec_";
// The specification's bounds on an HMAC key: at least 192 bits, at most 512.
inline constexpr std::size_t kMinWebhookKeyBytes = 24;
inline constexpr std::size_t kMaxWebhookKeyBytes = 64;
// A secret file holds the current secret and, while a key is rotated, the ones a receiver may still check.
inline constexpr std::size_t kMaxWebhookSecrets = 4;
inline constexpr std::size_t kMaxWebhookSecretFileBytes = 4096;

// The HMAC-SHA256 key of a secret: the bytes of the base64 after whsec_.
using WebhookKey = std::vector<std::uint8_t>;

// The key of "whsec_<base64>" (standard alphabet, padded). Throws std::invalid_argument saying what is
// wrong; the message never quotes the secret.
WebhookKey parse_webhook_secret(std::string_view secret);

// The keys of a secret file: one whsec_ secret a line (surrounding blanks and empty lines ignored), at least
// one and at most kMaxWebhookSecrets. Throws std::invalid_argument naming the file and the line at fault,
// never quoting it.
std::vector<WebhookKey> read_webhook_secret_file(const std::string& path);

// "v1,<base64 of HMAC-SHA256(key, "<id>.<timestamp>.<body>")>": one signature of the specification.
std::string sign_webhook(const WebhookKey& key, std::string_view id, std::int64_t timestamp, std::string_view body);

// The webhook-signature header: a v1 signature with every key, space-separated, so that a receiver that
// knows any one of them (the old one, during a rotation) can verify the delivery.
std::string webhook_signature(const std::vector<WebhookKey>& keys, std::string_view id, std::int64_t timestamp,
                              std::string_view body);

// Standard base64 with padding.
std::string base64_encode(std::span<const std::uint8_t> bytes);
// Nothing unless `text` is standard base64 with its padding: no other characters, no blanks.
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);

}  // namespace flashtix::notifications

// HMAC-SHA256 and base64 from OpenSSL; the secret file and its checks.
#include "notifications/signature.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>

#include <array>
#include <fstream>
#include <stdexcept>

#include "core/log.hpp"

namespace flashtix::notifications {

namespace {

bool is_base64_character(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

std::string_view trimmed(std::string_view text) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace

std::string base64_encode(std::span<const std::uint8_t> bytes) {
  std::string text(4 * ((bytes.size() + 2) / 3), '\0');
  // EVP_EncodeBlock writes a terminating NUL after the text: room for it, then it goes.
  text.push_back('\0');
  const int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()), bytes.data(), static_cast<int>(bytes.size()));
  text.resize(static_cast<std::size_t>(written));
  return text;
}

std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text) {
  // EVP_DecodeBlock skips blanks and reads padding as zero bytes; checking first keeps it strict.
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=') ++padding;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++padding;
  for (std::size_t i = 0; i < text.size() - padding; ++i) {
    if (!is_base64_character(text[i])) return std::nullopt;
  }
  std::vector<std::uint8_t> bytes(text.size() / 4 * 3);
  const int decoded =
      EVP_DecodeBlock(bytes.data(), reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (decoded < 0 || static_cast<std::size_t>(decoded) != bytes.size()) return std::nullopt;
  bytes.resize(bytes.size() - padding);
  return bytes;
}

WebhookKey parse_webhook_secret(std::string_view secret) {
  if (!secret.starts_with(kWebhookSecretPrefix)) {
    throw std::invalid_argument("a webhook secret starts with " + std::string(kWebhookSecretPrefix));
  }
  std::optional<WebhookKey> key = base64_decode(secret.substr(kWebhookSecretPrefix.size()));
  if (!key) {
    throw std::invalid_argument("a webhook secret is " + std::string(kWebhookSecretPrefix) +
                                " and base64 (A-Z, a-z, 0-9, + and /, padded with =)");
  }
  if (key->size() < kMinWebhookKeyBytes || key->size() > kMaxWebhookKeyBytes) {
    throw std::invalid_argument("a webhook secret's key is " + std::to_string(kMinWebhookKeyBytes) + " to " +
                                std::to_string(kMaxWebhookKeyBytes) + " bytes, this one is " +
                                std::to_string(key->size()));
  }
  return std::move(*key);
}

std::vector<WebhookKey> read_webhook_secret_file(const std::string& path) {
  const std::string about = "the webhook secret file " + path;
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::invalid_argument("cannot read " + about);
  std::string text;
  text.resize(kMaxWebhookSecretFileBytes + 1);
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (file.bad()) throw std::invalid_argument("cannot read " + about);
  text.resize(static_cast<std::size_t>(file.gcount()));
  if (text.size() > kMaxWebhookSecretFileBytes) {
    throw std::invalid_argument(about + " is larger than " + std::to_string(kMaxWebhookSecretFileBytes) + " bytes");
  }
  // Open to others is allowed (a mounted secret often is), but worth a word.
  struct stat status {};
  if (::stat(path.c_str(), &status) == 0 && (status.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    core::log_warn(about, " is open to other users than its owner; chmod 600 it");
  }

  std::vector<WebhookKey> keys;
  std::string_view rest = text;
  for (std::size_t line_number = 1; !rest.empty(); ++line_number) {
    const std::size_t end = rest.find('\n');
    const std::string_view line = trimmed(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (line.empty()) continue;
    if (keys.size() == kMaxWebhookSecrets) {
      throw std::invalid_argument(about + " holds more than " + std::to_string(kMaxWebhookSecrets) + " secrets");
    }
    try {
      keys.push_back(parse_webhook_secret(line));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(about + ", line " + std::to_string(line_number) + ": " + e.what());
    }
  }
  if (keys.empty()) throw std::invalid_argument(about + " holds no secret");
  return keys;
}

std::string sign_webhook(const WebhookKey& key, std::string_view id, std::int64_t timestamp, std::string_view body) {
  std::string content;
  const std::string seconds = std::to_string(timestamp);
  content.reserve(id.size() + seconds.size() + body.size() + 2);
  content.append(id).append(".").append(seconds).append(".").append(body);
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_size = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac.data(), &mac_size) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return "v1," + base64_encode(std::span<const std::uint8_t>(mac.data(), mac_size));
}

std::string webhook_signature(const std::vector<WebhookKey>& keys, std::string_view id, std::int64_t timestamp,
                              std::string_view body) {
  std::string header;
  for (const WebhookKey& key : keys) {
    if (!header.empty()) header += ' ';
    header += sign_webhook(key, id, timestamp, body);
  }
  return header;
}

}  // namespace flashtix::notifications

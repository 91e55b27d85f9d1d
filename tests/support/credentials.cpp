// Test tokens from /dev/urandom, digests with OpenSSL (not the services' code: the harness checks it).
#include "support/credentials.hpp"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <array>
#include <fstream>
#include <stdexcept>

#include "support/standard_webhooks.hpp"

namespace flashtix::test {

namespace {

std::string to_hex(const unsigned char* bytes, std::size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (std::size_t i = 0; i < size; ++i) {
    hex += kHex[bytes[i] >> 4];
    hex += kHex[bytes[i] & 0xF];
  }
  return hex;
}

std::string random_token() {
  std::array<unsigned char, 32> bytes{};
  std::ifstream random("/dev/urandom", std::ios::binary);
  if (!random.read(reinterpret_cast<char*>(bytes.data()), bytes.size()))
    throw std::runtime_error("cannot read /dev/urandom");
  return to_hex(bytes.data(), bytes.size());
}

}  // namespace

std::string sha256_hex(std::string_view text) {
  std::array<unsigned char, 32> digest{};
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  return to_hex(digest.data(), size);
}

std::string random_password() { return random_token(); }

std::string write_secret_file(const std::string& name, const std::string& text) {
  const std::string path = make_temp_dir("flashtix-secrets-") + "/" + name;
  {
    std::ofstream file(path);
    file << text << "\n";
    if (!file) throw std::runtime_error("cannot write " + path);
  }
  ::chmod(path.c_str(), S_IRUSR | S_IWUSR);
  return path;
}

const TestTokens& test_tokens() {
  static const TestTokens tokens = [] {
    TestTokens made;
    made.admin = random_token();
    made.service = random_token();
    made.service_file = write_secret_file("service-token", made.service);
    made.webhook_secret = random_webhook_secret();
    made.webhook_secret_file = write_secret_file("webhook-secret", made.webhook_secret);
    return made;
  }();
  return tokens;
}

std::string bearer(std::string_view token) { return "Bearer " + std::string(token); }

EnvVars credential_env() {
  const TestTokens& tokens = test_tokens();
  return {{"FLASHTIX_ADMIN_TOKEN_SHA256", sha256_hex(tokens.admin)},
          {"FLASHTIX_SERVICE_TOKEN_SHA256", sha256_hex(tokens.service)},
          {"FLASHTIX_INVENTORY_TOKEN_FILE", tokens.service_file},
          {"FLASHTIX_WEBHOOK_SECRET_FILE", tokens.webhook_secret_file}};
}

}  // namespace flashtix::test

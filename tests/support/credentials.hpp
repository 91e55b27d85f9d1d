// The tokens of a test run. Every service the harness starts accepts them (it gets their digests),
// orders gets the service token's file, notifications the webhook secret's, and every request the test client sends
// carries the admin token unless its headers name an Authorization of their own (an empty one: no credential at all).
#pragma once

#include <string>
#include <string_view>

#include "support/posix.hpp"

namespace flashtix::test {

struct TestTokens {
  std::string admin;
  std::string service;
  std::string service_file;         // holds `service`, for FLASHTIX_INVENTORY_TOKEN_FILE
  std::string webhook_secret;       // whsec_...: what notifications signs with and the test receiver checks
  std::string webhook_secret_file;  // holds `webhook_secret`, for FLASHTIX_WEBHOOK_SECRET_FILE
};

// Made once per test process, from the kernel's random bytes.
const TestTokens& test_tokens();

// "Bearer <token>".
std::string bearer(std::string_view token);

// FLASHTIX_ADMIN_TOKEN_SHA256, FLASHTIX_SERVICE_TOKEN_SHA256, FLASHTIX_INVENTORY_TOKEN_FILE and
// FLASHTIX_WEBHOOK_SECRET_FILE.
EnvVars credential_env();

std::string sha256_hex(std::string_view text);

// 32 random bytes as hex: a password for the test database's or broker's users.
std::string random_password();

// Writes `text` and a newline to a new file, readable by its owner only, in a private temporary directory;
// returns its path.
std::string write_secret_file(const std::string& name, const std::string& text);

}  // namespace flashtix::test

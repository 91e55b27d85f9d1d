// The tokens of a test run. Every service the harness starts accepts them (it gets their digests),
// orders gets the service token's file, and every request the test client sends carries the admin
// token unless its headers name an Authorization of their own (an empty one: no credential at all).
#pragma once

#include <string>
#include <string_view>

#include "support/posix.hpp"

namespace flashtix::test {

struct TestTokens {
  std::string admin;
  std::string service;
  std::string service_file;  // holds `service`, for FLASHTIX_INVENTORY_TOKEN_FILE
};

// Made once per test process, from the kernel's random bytes.
const TestTokens& test_tokens();

// "Bearer <token>".
std::string bearer(std::string_view token);

// FLASHTIX_ADMIN_TOKEN_SHA256, FLASHTIX_SERVICE_TOKEN_SHA256 and FLASHTIX_INVENTORY_TOKEN_FILE.
EnvVars credential_env();

std::string sha256_hex(std::string_view text);

// 32 random bytes as hex: a password for the test database's or broker's users.
std::string random_password();

}  // namespace flashtix::test

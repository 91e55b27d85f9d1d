// Bearer tokens checked against SHA-256 digests (OpenSSL), in constant time.
#include "core/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <fstream>
#include <stdexcept>

#include "core/secure_random.hpp"

namespace flashtix::core {

namespace {

using Digest = std::array<std::uint8_t, 32>;

Digest sha256(std::string_view text) {
  Digest digest{};
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1 || size != digest.size()) {
    throw std::runtime_error("SHA-256 failed");
  }
  return digest;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<Digest> digest_from_hex(std::string_view hex, std::string_view what) {
  if (hex.empty()) return std::nullopt;
  Digest digest{};
  if (hex.size() != 2 * digest.size())
    throw std::invalid_argument(std::string(what) + " must be 64 hex digits (a SHA-256)");
  for (std::size_t i = 0; i < digest.size(); ++i) {
    const int high = hex_value(hex[2 * i]);
    const int low = hex_value(hex[2 * i + 1]);
    if (high < 0 || low < 0) throw std::invalid_argument(std::string(what) + " must be 64 hex digits (a SHA-256)");
    digest[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  return digest;
}

bool same(const std::optional<Digest>& expected, const Digest& presented) {
  // CRYPTO_memcmp takes the same time wherever the digests differ.
  return expected && CRYPTO_memcmp(expected->data(), presented.data(), presented.size()) == 0;
}

}  // namespace

std::string_view role_name(Role role) {
  switch (role) {
    case Role::anyone:
      return "anyone";
    case Role::service:
      return "service";
    case Role::admin:
      return "admin";
  }
  return "unknown";
}

std::string sha256_hex(std::string_view text) { return hex_encode(sha256(text)); }

Credentials::Credentials(std::string_view admin_sha256, std::string_view service_sha256)
    : admin_(digest_from_hex(admin_sha256, "admin-token-sha256")),
      service_(digest_from_hex(service_sha256, "service-token-sha256")) {}

std::optional<Role> Credentials::role_of(std::string_view token) const {
  const Digest presented = sha256(token);
  // Both compared whatever the first answers, so the time says nothing about which one matched.
  const bool admin = same(admin_, presented);
  const bool service = same(service_, presented);
  if (admin) return Role::admin;
  if (service) return Role::service;
  return std::nullopt;
}

Credentials credentials_from(const Config& config) {
  return Credentials(config.get("admin-token-sha256"), config.get("service-token-sha256"));
}

Problem unauthenticated(std::string detail) {
  return Problem{http::status::unauthorized, "unauthenticated", "Unauthenticated", std::move(detail), {},
                 {{"WWW-Authenticate", "Bearer"}}};
}

std::optional<std::string_view> bearer_token(const Request& request) {
  const std::string_view header = request.header(http::field::authorization);
  constexpr std::string_view kScheme = "Bearer ";
  // The scheme is case-insensitive (RFC 9110); the token is not.
  const bool bearer = header.size() > kScheme.size() &&
                      std::equal(kScheme.begin(), kScheme.end(), header.begin(), [](char a, char b) {
                        return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
                      });
  if (!bearer) return std::nullopt;
  return header.substr(kScheme.size());
}

Result<Role> authorize(const Credentials& credentials, const Request& request, Role needed) {
  Role caller = Role::anyone;
  if (!request.header(http::field::authorization).empty()) {
    const auto token = bearer_token(request);
    if (!token) return unauthenticated("the Authorization header must be 'Bearer <token>'");
    const auto role = credentials.role_of(*token);
    if (!role) return unauthenticated("the token is not valid");
    caller = *role;
  }
  if (caller >= needed) return caller;
  if (caller == Role::anyone) {
    return unauthenticated("this needs the " + std::string(role_name(needed)) +
                           " role: send Authorization: Bearer <token>");
  }
  return Problem{http::status::forbidden,
                 "forbidden",
                 "Forbidden",
                 "this needs the " + std::string(role_name(needed)) + " role; the token has the " +
                     std::string(role_name(caller)) + " role",
                 {},
                 {}};
}

bool token_matches(std::string_view token, std::string_view sha256_hex) {
  std::optional<Digest> stored;
  try {
    stored = digest_from_hex(sha256_hex, "a stored digest");
  } catch (const std::invalid_argument&) {
    return false;
  }
  return same(stored, sha256(token));
}

std::string read_token_file(const std::string& path) {
  std::ifstream file(path);
  std::string token;
  if (!file || !std::getline(file, token)) throw std::invalid_argument("cannot read a token from " + path);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty()) throw std::invalid_argument(path + " holds no token");
  return token;
}

}  // namespace flashtix::core

// Who may call what: the roles, the API tokens that prove them, and the problems when they do not.
// A token is sent as `Authorization: Bearer <token>`; a service keeps only the SHA-256 digest of each
// token it accepts and compares digests in constant time.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/config.hpp"
#include "core/http.hpp"

namespace flashtix::core {

std::string_view role_name(Role role);

// The lower-case hex SHA-256 of `text`.
std::string sha256_hex(std::string_view text);

// The tokens a service accepts, as digests.
class Credentials {
 public:
  // Accepts no token: every route that needs a role answers 401.
  Credentials() = default;
  // Lower-case or upper-case hex SHA-256 digests; an empty one means that role has no token. Throws
  // std::invalid_argument for anything else.
  Credentials(std::string_view admin_sha256, std::string_view service_sha256);

  // The role `token` proves, or nothing.
  std::optional<Role> role_of(std::string_view token) const;

 private:
  using Digest = std::array<std::uint8_t, 32>;
  std::optional<Digest> admin_;
  std::optional<Digest> service_;
};

// admin-token-sha256 and service-token-sha256, common to every service.
Credentials credentials_from(const Config& config);

// The token of an `Authorization: Bearer <token>` header (the scheme in any case); nothing without one.
std::optional<std::string_view> bearer_token(const Request& request);

// The role of the caller, or 401 unauthenticated when a credential is needed and the request has none
// or an unknown one, or 403 forbidden when it proves a lesser role than `needed`.
Result<Role> authorize(const Credentials& credentials, const Request& request, Role needed);

// 401 unauthenticated with WWW-Authenticate: Bearer.
Problem unauthenticated(std::string detail);

// True when `token` hashes to `sha256_hex` (a stored digest), compared in constant time.
bool token_matches(std::string_view token, std::string_view sha256_hex);

// The token of a file such as .flashtix/secrets/service-token: its first line, without the newline.
// Throws std::invalid_argument when the file cannot be read or holds no token.
std::string read_token_file(const std::string& path);

}  // namespace flashtix::core

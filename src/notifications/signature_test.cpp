// Standard Webhooks signing against vectors computed elsewhere, and the whsec_ secrets and files it takes.
#include "notifications/signature.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace flashtix::notifications {
namespace {

constexpr const char* kId = "7f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d4e5f";
constexpr std::int64_t kTimestamp = 1'795'000'000;
// With a character outside ASCII: the signature is over the body's bytes.
constexpr const char* kBody =
    R"({"type":"order.confirmed","order_id":"0b5e2f7c-8d0a-4a53-9d1e-3f6a2b1c4d5e","data":{"event":"Zoë"}})";
// The bytes 0x00..0x1f, and 0x20..0x3f.
constexpr const char* kSecret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
constexpr const char* kOtherSecret = "whsec_ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
// Computed with the openssl command, independently of this code:
//   printf '%s' "$kId.$kTimestamp.$kBody" | openssl dgst -sha256 -binary -mac HMAC
//     -macopt hexkey:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f | base64
// (and the same with hexkey:202122...3f for kOtherSecret); python3's hmac.new(key, message, 'sha256') agrees.
constexpr const char* kSignature = "v1,5I1G0ONxYvN9HKQuo8CYkAu7nCRpelW8R5ANEcQlj34=";
constexpr const char* kOtherSignature = "v1,+JoACGRoJ2AtIX9W1+FAD9YvLdCFpET7T8VQTNzopVo=";

TEST(WebhookSignature, MatchesAVectorComputedWithOpenssl) {
  EXPECT_EQ(sign_webhook(parse_webhook_secret(kSecret), kId, kTimestamp, kBody), kSignature);
  EXPECT_EQ(sign_webhook(parse_webhook_secret(kOtherSecret), kId, kTimestamp, kBody), kOtherSignature);
}

// The example of the specification's reference libraries (their tests sign it the same way).
TEST(WebhookSignature, MatchesTheSpecificationsExample) {
  EXPECT_EQ(sign_webhook(parse_webhook_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "msg_p5jXN8AQM9LWM0D4loKWxJek",
                         1614265330, R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(WebhookSignature, CoversTheIdTheTimeAndEveryByteOfTheBody) {
  const WebhookKey key = parse_webhook_secret(kSecret);
  const std::string body = kBody;
  EXPECT_NE(sign_webhook(key, "7f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d4e50", kTimestamp, body), kSignature);
  EXPECT_NE(sign_webhook(key, kId, kTimestamp + 1, body), kSignature);
  EXPECT_NE(sign_webhook(key, kId, kTimestamp, body + " "), kSignature);
  EXPECT_NE(sign_webhook(key, kId, kTimestamp, body.substr(0, body.size() - 1)), kSignature);
}

TEST(WebhookSignature, SignsWithEveryKeySpaceSeparated) {
  const std::vector<WebhookKey> keys{parse_webhook_secret(kSecret), parse_webhook_secret(kOtherSecret)};
  EXPECT_EQ(webhook_signature(keys, kId, kTimestamp, kBody), std::string(kSignature) + " " + kOtherSignature);
  EXPECT_EQ(webhook_signature({keys.at(0)}, kId, kTimestamp, kBody), kSignature);
}

TEST(Base64, EncodesAndDecodesTheStandardAlphabetWithPadding) {
  const auto bytes = [](std::string_view text) { return std::vector<std::uint8_t>(text.begin(), text.end()); };
  // RFC 4648's test vectors.
  for (const auto& [plain, encoded] : std::vector<std::pair<std::string, std::string>>{
           {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"foobar", "Zm9vYmFy"}}) {
    EXPECT_EQ(base64_encode(bytes(plain)), encoded) << plain;
    EXPECT_EQ(base64_decode(encoded), bytes(plain)) << encoded;
  }
  EXPECT_EQ(base64_encode(std::vector<std::uint8_t>{0xfb, 0xff}), "+/8=");
  EXPECT_EQ(base64_decode("+/8="), (std::vector<std::uint8_t>{0xfb, 0xff}));
}

TEST(Base64, RefusesAnythingElse) {
  for (const char* text : {"Zm9", "Zm9vY", "Zm9v\n", " Zm9v", "Zm 9v", "Zm9-", "Zm9_", "Zg=", "Z===", "=Zm9",
                           "Zg==Zg==", "Zm=v", "Zm9v===="}) {
    EXPECT_FALSE(base64_decode(text)) << text;
  }
}

TEST(WebhookSecret, IsWhsecAndTheBase64OfItsKey) {
  const WebhookKey key = parse_webhook_secret(kSecret);
  ASSERT_EQ(key.size(), 32u);
  for (std::size_t i = 0; i < key.size(); ++i) EXPECT_EQ(key[i], i);

  const std::string shortest = "whsec_" + base64_encode(std::vector<std::uint8_t>(kMinWebhookKeyBytes, 7));
  const std::string longest = "whsec_" + base64_encode(std::vector<std::uint8_t>(kMaxWebhookKeyBytes, 7));
  EXPECT_EQ(parse_webhook_secret(shortest).size(), kMinWebhookKeyBytes);
  EXPECT_EQ(parse_webhook_secret(longest).size(), kMaxWebhookKeyBytes);
}

TEST(WebhookSecret, RefusesABadPrefixBadBase64OrAKeyOfTheWrongSizeWithoutQuotingIt) {
  const std::string key = std::string(kSecret).substr(6);
  const std::string too_short = "whsec_" + base64_encode(std::vector<std::uint8_t>(kMinWebhookKeyBytes - 1, 7));
  const std::string too_long = "whsec_" + base64_encode(std::vector<std::uint8_t>(kMaxWebhookKeyBytes + 1, 7));
  for (const std::string& secret :
       {key, "WHSEC_" + key, "whsec" + key, "whsk_" + key, "whsec_ " + key, "whsec_" + key.substr(1),
        "whsec_" + key + "=", "whsec_" + key.substr(0, 20) + "-_" + key.substr(22), "whsec_" + key + "\n", too_short,
        too_long, std::string("whsec_"), std::string()}) {
    try {
      parse_webhook_secret(secret);
      ADD_FAILURE() << "accepted " << secret;
    } catch (const std::invalid_argument& e) {
      if (secret.size() <= 12) continue;
      EXPECT_EQ(std::string(e.what()).find(secret.substr(6, 6)), std::string::npos) << e.what();
    }
  }
}

class SecretFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/flashtix-secret-XXXXXX";
    const int fd = ::mkstemp(name);
    ASSERT_GE(fd, 0);
    ::close(fd);
    path_ = name;
  }
  void TearDown() override { std::remove(path_.c_str()); }
  void write(const std::string& text) {
    std::ofstream file(path_, std::ios::binary | std::ios::trunc);
    file << text;
  }
  std::string refusal() {
    try {
      read_webhook_secret_file(path_);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "accepted";
  }
  std::string path_;
};

TEST_F(SecretFile, HoldsOneSecretALineTheCurrentOneFirst) {
  write(std::string(kSecret) + "\n");
  EXPECT_EQ(read_webhook_secret_file(path_), std::vector<WebhookKey>{parse_webhook_secret(kSecret)});
  // Blanks around a line, a CRLF and empty lines are not part of a secret.
  write("\n  " + std::string(kSecret) + "\r\n\n\t" + kOtherSecret);
  const std::vector<WebhookKey> keys = read_webhook_secret_file(path_);
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys.at(0), parse_webhook_secret(kSecret));
  EXPECT_EQ(keys.at(1), parse_webhook_secret(kOtherSecret));
}

TEST_F(SecretFile, RefusesAFileWithoutGoodSecretsNamingTheLineButNotItsText) {
  write("");
  EXPECT_NE(refusal().find("holds no secret"), std::string::npos);
  write("\n \n");
  EXPECT_NE(refusal().find("holds no secret"), std::string::npos);
  write(std::string(kSecret) + "\nsecret-in-the-clear\n");
  const std::string bad_line = refusal();
  EXPECT_NE(bad_line.find("line 2"), std::string::npos) << bad_line;
  EXPECT_NE(bad_line.find(path_), std::string::npos) << bad_line;
  EXPECT_EQ(bad_line.find("secret-in-the-clear"), std::string::npos) << bad_line;
  std::string many;
  for (std::size_t i = 0; i <= kMaxWebhookSecrets; ++i) many += std::string(kSecret) + "\n";
  write(many);
  EXPECT_NE(refusal().find("more than"), std::string::npos);
  write(std::string(kMaxWebhookSecretFileBytes + 1, '\n'));
  EXPECT_NE(refusal().find("larger than"), std::string::npos);
  EXPECT_THROW(read_webhook_secret_file(path_ + "-missing"), std::invalid_argument);
}

}  // namespace
}  // namespace flashtix::notifications

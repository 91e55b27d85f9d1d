// E-mail normalisation for per-buyer limits.
#include "core/buyer.hpp"

#include <gtest/gtest.h>

namespace flashtix::core {
namespace {

TEST(NormalizedEmail, OneSpellingPerAddress) {
  EXPECT_EQ(normalized_email("Ada@Example.COM"), "ada@example.com");
  EXPECT_EQ(normalized_email("  ada@example.com\t"), "ada@example.com");
  EXPECT_EQ(normalized_email("a@b"), "a@b");
}

TEST(NormalizedEmail, RefusesWhatIsNotOneAddress) {
  for (const char* bad : {"", "ada", "@example.com", "ada@", "ada@@example.com", "a@b@c", "ada @example.com",
                          "ada@exa\x01mple.com", "ad\x7f@example.com"}) {
    EXPECT_FALSE(normalized_email(bad)) << bad;
  }
  EXPECT_FALSE(normalized_email(std::string(250, 'a') + "@b.cd"));
  EXPECT_TRUE(normalized_email(std::string(249, 'a') + "@b.cd"));
}

TEST(BuyerDigest, IsTheSha256OfTheNormalisedAddress) {
  // printf 'abc' | sha256sum
  EXPECT_EQ(buyer_digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(buyer_digest(*normalized_email("Ada@Example.com")), buyer_digest(*normalized_email("ada@example.com ")));
}

}  // namespace
}  // namespace flashtix::core

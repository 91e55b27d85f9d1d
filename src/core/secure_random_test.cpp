// Ids and tokens from the kernel's random bytes: the right form, and never the same twice.
#include "core/secure_random.hpp"

#include <gtest/gtest.h>

#include <set>

#include "core/uuid.hpp"

namespace flashtix::core {
namespace {

TEST(SecureRandom, UuidsAreVersion4AndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 10'000; ++i) {
    const std::string id = random_uuid();
    ASSERT_TRUE(is_uuid(id)) << id;
    EXPECT_EQ(id[14], '4') << id;                                          // version
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;  // RFC 4122 variant
    EXPECT_TRUE(seen.insert(id).second) << "repeated: " << id;
  }
}

TEST(SecureRandom, HexHasTwoDigitsPerByte) {
  const std::string a = random_hex(32);
  const std::string b = random_hex(32);
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos) << a;
  EXPECT_NE(a, b);
  // More than one buffer's worth in one call.
  EXPECT_EQ(random_hex(5000).size(), 10'000u);
}

}  // namespace
}  // namespace flashtix::core

// Which currency codes the services accept.
#include "core/money.hpp"

#include <gtest/gtest.h>

namespace flashtix::core {
namespace {

TEST(Money, ActiveIso4217CodesAreKnown) {
  for (const char* code : {"EUR", "USD", "JPY", "GBP", "CHF", "AED", "ZWG", "KWD"}) EXPECT_TRUE(is_known_currency(code)) << code;
}

TEST(Money, AnythingElseIsNot) {
  for (const char* code : {"", "eur", "Eur", "EU", "EURO", "XYZ", "XAU", "XXX", "AAA", "ZZZ", " EUR"}) {
    EXPECT_FALSE(is_known_currency(code)) << code;
  }
}

}  // namespace
}  // namespace flashtix::core

// The entry point of each inventory black-box test binary: one database and one service for all its tests.
#include <gtest/gtest.h>

#include "inventory_harness.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // GoogleTest owns and deletes the environment.
  ::testing::AddGlobalTestEnvironment(new flashtix::test::InventoryEnvironment);
  return RUN_ALL_TESTS();
}

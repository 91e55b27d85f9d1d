// The entry point of each end-to-end test binary: one database, one broker, the four services.
#include <gtest/gtest.h>

#include "flow_harness.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // Environments are set up in order and torn down in reverse; GoogleTest deletes them.
  ::testing::AddGlobalTestEnvironment(new flashtix::test::InventoryEnvironment);
  ::testing::AddGlobalTestEnvironment(new flashtix::test::FlowEnvironment);
  return RUN_ALL_TESTS();
}

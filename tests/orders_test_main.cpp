// The entry point of each order black-box test binary: one database, one inventory, orders on demand.
#include <gtest/gtest.h>

#include "orders_harness.hpp"

namespace {

// Stops the shared orders process and the broker before the inventory environment tears the database down.
class OrdersEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    flashtix::test::stop_shared_orders();
    flashtix::test::stop_shared_broker();
  }
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // Environments are set up in order and torn down in reverse; GoogleTest deletes them.
  ::testing::AddGlobalTestEnvironment(new flashtix::test::InventoryEnvironment);
  ::testing::AddGlobalTestEnvironment(new OrdersEnvironment);
  return RUN_ALL_TESTS();
}

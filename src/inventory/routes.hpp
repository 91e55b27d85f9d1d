// The inventory service's HTTP routes.
#pragma once

#include "core/router.hpp"
#include "inventory/inventory.hpp"

namespace flashtix::inventory {

core::Router make_router(Inventory* inventory);

}  // namespace flashtix::inventory

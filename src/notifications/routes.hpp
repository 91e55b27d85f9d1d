// The notification service's HTTP routes.
#pragma once

#include "core/router.hpp"
#include "notifications/notifications.hpp"

namespace flashtix::notifications {

core::Router make_router(Notifications* notifications);

}  // namespace flashtix::notifications

// The inbox: a consumer records the message id in the transaction of the message's effect, so that a
// redelivered message has no second effect.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/messaging/envelope.hpp"
#include "core/messaging/tables.hpp"
#include "core/pg.hpp"

namespace flashtix::core::messaging {

// True when this message id is already in the inbox: a cheap early exit before side effects.
boost::asio::awaitable<bool> already_handled(pg::Pool* db, const Tables* tables, std::string message_id);

// Runs `effect` and the inbox row in one transaction. Nothing (and nothing changed) when the message
// was handled before; otherwise the effect's results.
boost::asio::awaitable<std::optional<std::vector<pg::Result>>> handle_once(pg::Pool* db, const Tables* tables,
                                                                           Message message,
                                                                           std::vector<pg::Statement> effect);

}  // namespace flashtix::core::messaging

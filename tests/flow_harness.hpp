// What the end-to-end tests share on top of the order harness: the whole system (inventory, orders,
// payments, notifications) against one database and one RabbitMQ node, a webhook target, and helpers
// that follow an order through its lifecycle.
#pragma once

#include <boost/json.hpp>
#include <memory>
#include <optional>
#include <string>

#include "core/messaging.hpp"
#include "orders_harness.hpp"
#include "support/webhook_receiver.hpp"

namespace flashtix::test {

// The simulated gateway's tok_slow delay in these tests.
inline constexpr std::chrono::milliseconds kSlowPayment{4000};

WebhookReceiver& webhook();
ServiceProcess& payments();
ServiceProcess& notifications();
std::unique_ptr<ServiceProcess> start_payments(EnvVars extra = {});
std::unique_ptr<ServiceProcess> start_notifications(EnvVars extra = {});
// Starts every shared process; stops them (each must exit 0) in TearDown.
class FlowEnvironment : public ::testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override;
};

// POST /orders to `service` (the shared orders process by default); the order id of the 201 answer.
std::string place_order(std::int64_t event_id, std::int64_t quantity, std::string_view payment_token,
                        ServiceProcess* service = nullptr);
// GET /orders/{id} from the shared orders process.
boost::json::object order_json(const std::string& order_id);
// Waits until the order leaves PENDING_PAYMENT (or `timeout` passes); its status then.
std::string final_status(const std::string& order_id, std::chrono::milliseconds timeout = std::chrono::seconds(20));

// GET /payments?order_id= and GET /notifications?order_id=: their items.
boost::json::array payments_of(const std::string& order_id);
boost::json::array notifications_of(const std::string& order_id);

// One number from SQL run as flashuser.
std::int64_t count(const std::string& sql);

// Publishes `message_id` from `schema`.outbox to the broker again, exactly as the relay did (logged in
// as that schema's service): a duplicate delivery as the broker could make it.
void republish(const std::string& schema, const std::string& message_id);
// Publishes `body` as it is, with routing key `type`, logged in as the service that owns `type`: a
// message no FlashTix service wrote, from a publisher consumers trust.
void publish_raw(const std::string& type, const std::string& body);

// A new event of `type` about `order_id`, as a service would write it.
core::messaging::Message new_event(std::string_view type, const std::string& order_id, boost::json::object payload);
// Publishes `message` as FlashTix's code does (user_id stamped with the login), logged in as `service`.
void publish_as(const std::string& service, const core::messaging::Message& message);
// Publishes `message` as some other client could: logged in as `service`'s broker user, with the AMQP
// user_id `user_id` (none at all when nothing). Empty when the broker confirmed it, else why it refused.
std::string publish_with_user_id(const std::string& service, const std::optional<std::string>& user_id,
                                 const core::messaging::Message& message);
// The message id of the outbox row of `type` for `order_id` in `schema`; "" when there is none.
std::string outbox_message_id(const std::string& schema, const std::string& type, const std::string& order_id);

}  // namespace flashtix::test

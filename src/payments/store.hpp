// The payment service's SQL, each statement named and beside the function that runs it. Every write
// about one order takes that order's advisory lock first, so a charge finishing and the order closing
// never miss each other.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/messaging/tables.hpp"
#include "core/money.hpp"
#include "core/pg.hpp"
#include "core/retention.hpp"
#include "payments/payment.hpp"

namespace flashtix::payments::store {

using boost::asio::awaitable;
using core::pg::Pool;
using core::pg::Statement;

struct NewCharge {
  std::string order_id;
  std::int64_t event_id = 0;
  std::int64_t quantity = 0;
  std::string payment_token;
  std::string traceparent;  // the order's trace, from order.created; the payment's events are published in it
  // The order's amount when is_chargeable; none: the payment fails (invalid_amount).
  std::optional<core::Money> amount;
};

// The order's payment, made pending now with the charge's amount unless it exists already; nothing when
// the order closed before any charge started (then none ever will).
awaitable<std::optional<Payment>> start_charge(Pool* db, NewCharge charge);

// Statements for a consumer's inbox transaction.
Statement lock_order(const std::string& order_id);
// A pending payment gets the gateway's answer and its event (`ended` carries status and reason).
// Returns one row, refund_due, when it changed: true when the order closed meanwhile.
Statement finish_charge(const Payment& ended, std::string_view event_type);
// Records that the order closed unsold; returns the status of a payment that now owes a refund.
Statement close_order(const std::string& order_id, const std::string& order_status);

// Succeeded payments whose order closed unsold, oldest first.
awaitable<std::vector<Payment>> due_refunds(Pool* db, int batch);
// Marks a refunded payment and writes payment.refunded; false when another refunder got there first.
awaitable<bool> record_refund(Pool* db, Payment refunded);

awaitable<std::optional<Payment>> find_payment(Pool* db, std::string id);
struct PaymentFilter {
  std::optional<std::string> order_id;
  std::optional<std::string> status;
  std::int64_t after_seq = 0;
  std::int64_t limit = 50;
};
using PaymentPage = core::pg::Page<Payment>;
awaitable<PaymentPage> list_payments(Pool* db, PaymentFilter filter);

// What the payment service prunes: its outbox and inbox, and orders closed a week ago (a charge for
// them is long decided by then).
std::vector<core::RetentionRule> retention_rules(const core::messaging::Tables& tables);

}  // namespace flashtix::payments::store

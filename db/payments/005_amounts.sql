-- A payment stores what it charges: the order's amount in integer minor units of an ISO 4217 currency
-- (core/money.hpp), from its order.created. 0 with a currency is a free order, never sent to the gateway.
--
-- Rows written before this migration get amount 0 and currency NULL: their amount was never recorded,
-- and the gateway's record of the charge (under the payment's id) is the only one. Currency NULL keeps
-- them apart from free payments: a refund of such a payment still goes to the gateway, for the whole
-- charge, and a pending one takes the amount of its order.created when that is delivered again. A new
-- payment has NULL only when its order.created carried no chargeable amount, and then it fails at once
-- (invalid_amount), so it never owes a refund.
ALTER TABLE payments.payments
    ADD COLUMN amount_minor bigint NOT NULL DEFAULT 0
        CHECK (amount_minor >= 0 AND amount_minor <= 1000000000000),  -- core::kMaxAmountMinor
    ADD COLUMN currency text CHECK (currency ~ '^[A-Z]{3}$');
-- Every new row names its amount; the default was only for the rows above.
ALTER TABLE payments.payments ALTER COLUMN amount_minor DROP DEFAULT;

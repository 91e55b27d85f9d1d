-- Events: the outbox the relay publishes from, the inbox that makes each consumed event take effect once,
-- and what the order learns from its payment.

-- Written in the same transaction as the order change it announces; published_at is set only after
-- the broker confirmed the message.
CREATE TABLE orders.outbox (
    seq            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id     uuid        NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    type           text        NOT NULL,
    correlation_id text        NOT NULL,
    payload        jsonb       NOT NULL,
    occurred_at    timestamptz NOT NULL DEFAULT now(),
    published_at   timestamptz
);
CREATE INDEX outbox_unpublished ON orders.outbox (seq) WHERE published_at IS NULL;

-- One row per consumed message, inserted with its effect.
CREATE TABLE orders.inbox (
    message_id  uuid        PRIMARY KEY,
    type        text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE orders.orders
    ADD COLUMN payment_id    uuid,
    -- Why a CANCELLED or EXPIRED order ended: payment_declined, cancelled_by_customer, hold_expired.
    ADD COLUMN status_reason text;

-- The payments schema: one payment per order, the orders that closed without being sold, and the
-- outbox and inbox of the events this service exchanges.

CREATE TABLE payments.payments (
    id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),  -- also the gateway's idempotency key
    seq            bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,    -- stable order for paging
    order_id       uuid        NOT NULL UNIQUE,                         -- at most one charge per order, ever
    event_id       bigint      NOT NULL,
    quantity       integer     NOT NULL CHECK (quantity > 0),
    payment_token  text        NOT NULL CHECK (length(payment_token) BETWEEN 1 AND 64),
    -- pending while the gateway works; succeeded or failed once it answered; refunded after a refund.
    status         text        NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'refunded')),
    failure_reason text,
    -- The order closed without being sold (cancelled or expired): money taken for it goes back.
    refund_due     boolean     NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    refunded_at    timestamptz
);

CREATE INDEX payments_status ON payments.payments (status, seq);
-- The refund sweep looks only at money held for closed orders.
CREATE INDEX payments_refund_due ON payments.payments (seq) WHERE refund_due AND status = 'succeeded';

-- Orders that ended CANCELLED or EXPIRED: a charge that has not started yet never starts.
CREATE TABLE payments.closed_orders (
    order_id  uuid        PRIMARY KEY,
    status    text        NOT NULL,
    closed_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE payments.outbox (
    seq            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id     uuid        NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    type           text        NOT NULL,
    correlation_id text        NOT NULL,
    payload        jsonb       NOT NULL,
    occurred_at    timestamptz NOT NULL DEFAULT now(),
    published_at   timestamptz
);
CREATE INDEX outbox_unpublished ON payments.outbox (seq) WHERE published_at IS NULL;

CREATE TABLE payments.inbox (
    message_id  uuid        PRIMARY KEY,
    type        text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

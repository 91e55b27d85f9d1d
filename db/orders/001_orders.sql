-- The orders schema: orders and the idempotency keys that make POST /orders safe to retry.

CREATE TABLE orders.orders (
    id             uuid        PRIMARY KEY,  -- made before the reserve; it is the hold's reservation_key
    seq            bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,  -- stable order for paging
    event_id       bigint      NOT NULL,
    quantity       integer     NOT NULL CHECK (quantity > 0),
    customer_email text        CHECK (length(customer_email) <= 254),
    status         text        NOT NULL CHECK (status IN ('PENDING_PAYMENT', 'CONFIRMED', 'CANCELLED', 'EXPIRED')),
    reservation_id bigint      NOT NULL,
    expires_at     timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX orders_event_status ON orders.orders (event_id, status, seq);
CREATE INDEX orders_status ON orders.orders (status, seq);
-- The expiry sweep looks only at orders still waiting for payment.
CREATE INDEX orders_pending_expiry ON orders.orders (expires_at) WHERE status = 'PENDING_PAYMENT';

-- One row per Idempotency-Key. IN_PROGRESS while the first request runs; DONE with its answer,
-- which every later request with the same key and body gets back.
CREATE TABLE orders.idempotency_keys (
    key                 text        PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 255),
    request_fingerprint text        NOT NULL,
    order_id            uuid        NOT NULL,
    state               text        NOT NULL CHECK (state IN ('IN_PROGRESS', 'DONE')),
    response_status     integer,
    response_body       text,
    claimed_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (state = 'IN_PROGRESS' OR (response_status IS NOT NULL AND response_body IS NOT NULL))
);

-- Claims left behind by a crashed request are found and undone by the recovery sweep.
CREATE INDEX idempotency_keys_in_progress ON orders.idempotency_keys (claimed_at) WHERE state = 'IN_PROGRESS';

-- The notifications schema: one notification per order and event type, the state of its webhook delivery,
-- and the inbox that makes each consumed event take effect once.

CREATE TABLE notifications.notifications (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),  -- sent as X-FlashTix-Notification-Id
    seq             bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,    -- stable order for paging
    order_id        uuid        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('order.confirmed', 'order.cancelled', 'order.expired')),
    message_id      uuid        NOT NULL,  -- the event it was made from
    recipient       text        CHECK (length(recipient) <= 254),
    payload         jsonb       NOT NULL,  -- the webhook body, exactly what every attempt POSTs
    -- pending: waiting for (another) attempt; delivered: the receiver answered 2xx; failed: every attempt
    -- failed; skipped: recorded while no webhook was configured, never sent.
    status          text        NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'skipped')),
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- While pending: when the next attempt is due. A claimed row is pushed past its lease, so another
    -- instance takes it over only if this one died mid-attempt.
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- An order's event redelivered or re-published under another message id still notifies once.
    UNIQUE (order_id, kind),
    CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
);

-- The delivery sweep looks only at rows still waiting.
CREATE INDEX notifications_due ON notifications.notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_order ON notifications.notifications (order_id, seq);
CREATE INDEX notifications_status ON notifications.notifications (status, seq);

-- One row per consumed message, inserted with its effect.
CREATE TABLE notifications.inbox (
    message_id  uuid        PRIMARY KEY,
    type        text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

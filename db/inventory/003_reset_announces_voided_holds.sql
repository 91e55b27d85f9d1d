-- The documented reset voids an event's live holds and sales. The orders they belonged to must hear of
-- it (a paid order whose seat is sold again is two buyers for one seat): each voided hold is announced
-- as a `hold.voided` event, written in the reset's own transaction to inventory's outbox, from which
-- the service's relay publishes it. The order service then cancels the order (reason event_reset), and
-- its order.cancelled gets the payment refunded and the buyer told.

-- As the other services' outboxes: published_at is set only after the broker confirmed the message.
CREATE TABLE inventory.outbox (
    seq            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id     uuid        NOT NULL DEFAULT gen_random_uuid(),
    type           text        NOT NULL,
    correlation_id text        NOT NULL,
    payload        jsonb       NOT NULL,
    occurred_at    timestamptz NOT NULL DEFAULT now(),
    published_at   timestamptz
);
CREATE INDEX outbox_unpublished ON inventory.outbox (seq) WHERE published_at IS NULL;

-- The reset locks the event row (its UPDATE) and then the holds, the order every batch of the service
-- locks in too, so a reset during a sale waits its turn instead of deadlocking with a batch.
CREATE OR REPLACE FUNCTION inventory.void_reservations_on_reset() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.available_tickets = NEW.total_tickets THEN
        NEW.sold_tickets := 0;
        WITH live AS (
            SELECT id, status FROM inventory.reservations
             WHERE event_id = NEW.id AND status IN ('HELD', 'CONFIRMED')
             ORDER BY id
               FOR UPDATE),
        voided AS (
            UPDATE inventory.reservations r
               SET status = 'VOIDED', updated_at = now()
              FROM live
             WHERE r.id = live.id
            RETURNING r.id, r.reservation_key, r.event_id, r.quantity, live.status AS was)
        INSERT INTO inventory.outbox (type, correlation_id, payload)
        SELECT 'hold.voided', v.reservation_key,
               jsonb_build_object('reservation_id', v.id, 'reservation_key', v.reservation_key,
                                  'event_id', v.event_id, 'quantity', v.quantity, 'was', v.was)
          FROM voided v;
    END IF;
    RETURN NEW;
END;
$$;

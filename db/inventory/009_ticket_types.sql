-- Ticket types: what an event sells ("General", "VIP"), each with a price in the event's currency, a
-- per-order minimum and maximum, an optional quota and an optional sales window of its own. The event's
-- total_tickets stays the capacity every type shares: a type sells while it has tickets of its quota left
-- (no quota: no bound of its own) and the event has tickets left. Each event has exactly one default
-- type, the one a reserve or an order that names no type takes (the original {"event_id", "quantity"}).
--
-- The ledger, per type with a quota, at every commit, as per event:
--   available_tickets + sum(held of the type) + sold_tickets = quota, available_tickets >= 0.
-- Only a batch that holds the event's row lock changes a type's counts, so the event's lock guards its
-- types' counts as it guards its own.
ALTER TABLE inventory.events
    ADD COLUMN currency text NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$');

CREATE TABLE inventory.ticket_types (
    id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id          bigint      NOT NULL REFERENCES inventory.events (id),
    name              text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    is_default        boolean     NOT NULL DEFAULT false,
    price_minor       bigint      NOT NULL CHECK (price_minor BETWEEN 0 AND 100000000000),
    min_per_order     integer     NOT NULL DEFAULT 1 CHECK (min_per_order > 0),
    -- NULL: no bound of its own (the service's --max-tickets-per-hold still bounds every hold).
    max_per_order     integer     CHECK (max_per_order >= min_per_order),
    quota             integer     CHECK (quota >= 0),
    -- Counted only for a type with a quota; NULL without one.
    available_tickets integer     CHECK (available_tickets >= 0),
    sold_tickets      integer     CHECK (sold_tickets >= 0),
    sales_start       timestamptz,
    sales_end         timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, name),
    CONSTRAINT counted_with_quota CHECK ((quota IS NULL) = (available_tickets IS NULL)
                                         AND (quota IS NULL) = (sold_tickets IS NULL)),
    CONSTRAINT counts_within_quota CHECK (available_tickets + sold_tickets <= quota),
    CONSTRAINT type_sales_window_in_order CHECK (sales_end > sales_start)
);
CREATE UNIQUE INDEX ticket_types_one_default ON inventory.ticket_types (event_id) WHERE is_default;
-- Types are answered per event in id order; the event's first type is its default.
CREATE INDEX ticket_types_event ON inventory.ticket_types (event_id, id);

-- What a hold holds, one element per type, and what it costs: the unit prices as they were when the hold
-- was made, so that a later change of price changes no hold. amount_minor is the sum of quantity times
-- unit price; the order service charges it.
ALTER TABLE inventory.reservations
    ADD COLUMN item_type_ids     bigint[]  NOT NULL DEFAULT '{}',
    ADD COLUMN item_quantities   integer[] NOT NULL DEFAULT '{}',
    ADD COLUMN item_prices_minor bigint[]  NOT NULL DEFAULT '{}',
    ADD COLUMN amount_minor      bigint    NOT NULL DEFAULT 0 CHECK (amount_minor >= 0),
    ADD COLUMN currency          text      CHECK (currency ~ '^[A-Z]{3}$'),
    ADD CONSTRAINT items_in_step CHECK (cardinality(item_type_ids) = cardinality(item_quantities)
                                        AND cardinality(item_type_ids) = cardinality(item_prices_minor));

-- Every event so far sold one free kind of ticket: that becomes its default type, and its holds hold it.
INSERT INTO inventory.ticket_types (event_id, name, is_default, price_minor)
SELECT id, 'General admission', true, 0 FROM inventory.events;

UPDATE inventory.reservations r
   SET item_type_ids = ARRAY[t.id], item_quantities = ARRAY[r.quantity], item_prices_minor = ARRAY[0::bigint],
       currency = 'EUR'
  FROM inventory.ticket_types t
 WHERE t.event_id = r.event_id AND t.is_default AND r.status IN ('HELD', 'CONFIRMED');

-- The documented reset (available_tickets = total_tickets) voids every live hold of the event, so every
-- type's quota is whole again as well.
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
        UPDATE inventory.ticket_types
           SET available_tickets = quota, sold_tickets = 0
         WHERE event_id = NEW.id AND quota IS NOT NULL;
    END IF;
    RETURN NEW;
END;
$$;

-- Every event has its default type from the moment it exists, however it is made (POST /events, the seed's
-- SQL, a test's): a free 'General admission' with no quota, which POST /events then changes into the first
-- type it was given.
CREATE FUNCTION inventory.add_default_ticket_type() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO inventory.ticket_types (event_id, name, is_default, price_minor)
    VALUES (NEW.id, 'General admission', true, 0);
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_default_ticket_type
    AFTER INSERT ON inventory.events
    FOR EACH ROW EXECUTE FUNCTION inventory.add_default_ticket_type();

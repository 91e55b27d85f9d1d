-- The event row carries its sold count, kept in the transaction of every confirm, so reading an event
-- never sums its holds: held = total - available - sold. The ledger check still sums the holds and
-- compares (db/checks/ledger.sql).

ALTER TABLE inventory.events ADD COLUMN sold_tickets integer NOT NULL DEFAULT 0 CHECK (sold_tickets >= 0);

UPDATE inventory.events e
   SET sold_tickets = coalesce((SELECT sum(r.quantity) FROM inventory.reservations r
                                 WHERE r.event_id = e.id AND r.status = 'CONFIRMED'), 0);

ALTER TABLE inventory.events
    ADD CONSTRAINT counts_within_total CHECK (available_tickets + sold_tickets <= total_tickets);

-- Held and sold are no longer summed from the holds, so this index only cost every hold an insert.
-- Holds past their time are found through reservations_held_expiry, in expiry order.
DROP INDEX inventory.reservations_event_status;

-- The documented reset (`UPDATE events SET available_tickets = 100, total_tickets = 100 WHERE id = 1`)
-- starts an event over: its live holds and sales are voided and its sold count goes back to zero, so
-- the ledger still balances. BEFORE, so that the row written carries the zero.
DROP TRIGGER events_reset ON inventory.events;
DROP FUNCTION inventory.void_reservations_on_reset();

CREATE FUNCTION inventory.void_reservations_on_reset() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.available_tickets = NEW.total_tickets THEN
        NEW.sold_tickets := 0;
        UPDATE inventory.reservations
           SET status = 'VOIDED', updated_at = now()
         WHERE event_id = NEW.id AND status IN ('HELD', 'CONFIRMED');
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER events_reset
    BEFORE UPDATE OF total_tickets ON inventory.events
    FOR EACH ROW EXECUTE FUNCTION inventory.void_reservations_on_reset();

-- Per-buyer limits: an event may cap the tickets one buyer holds and buys. A hold of such an event names
-- its buyer by a digest (the SHA-256 of the normalised e-mail address), never by the address itself;
-- holds of events without a limit name nobody, so they cost no index entry.
ALTER TABLE inventory.events ADD COLUMN max_tickets_per_buyer integer CHECK (max_tickets_per_buyer > 0);

ALTER TABLE inventory.reservations ADD COLUMN buyer_digest text CHECK (buyer_digest ~ '^[0-9a-f]{64}$');

-- What one buyer holds and bought of one event, read under the event's row lock by every batch. The buyer
-- first: a plan made while the table was empty must still go straight to the batch's buyers, not read
-- every hold of a hot event.
CREATE INDEX reservations_buyer_event ON inventory.reservations (buyer_digest, event_id)
    WHERE buyer_digest IS NOT NULL;

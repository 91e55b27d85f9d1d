-- Per-buyer limits: an event may cap the tickets one buyer holds and buys. A hold of such an event names
-- its buyer by a digest (the SHA-256 of the normalised e-mail address), never by the address itself;
-- holds of events without a limit name nobody, so they cost no index entry.
ALTER TABLE inventory.events ADD COLUMN max_tickets_per_buyer integer CHECK (max_tickets_per_buyer > 0);

ALTER TABLE inventory.reservations ADD COLUMN buyer_digest text CHECK (buyer_digest ~ '^[0-9a-f]{64}$');

-- What one buyer holds and bought of one event, read under the event's row lock by every batch.
CREATE INDEX reservations_event_buyer ON inventory.reservations (event_id, buyer_digest)
    WHERE buyer_digest IS NOT NULL;

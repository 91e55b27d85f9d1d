-- Each order has a secret, answered once to the buyer who placed it (and again to a replay of its
-- Idempotency-Key, from the key's stored answer): with it, that buyer reads and cancels the order. Only
-- its SHA-256 is kept here. Orders from before have none: only admin opens them.
ALTER TABLE orders.orders ADD COLUMN secret_sha256 text CHECK (length(secret_sha256) = 64);

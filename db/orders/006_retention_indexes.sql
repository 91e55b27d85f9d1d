-- The retention sweep (core/retention) deletes the oldest rows of these tables a batch at a time: it
-- finds them by age.
CREATE INDEX inbox_received_at ON orders.inbox (received_at);
CREATE INDEX idempotency_keys_claimed_at ON orders.idempotency_keys (claimed_at);

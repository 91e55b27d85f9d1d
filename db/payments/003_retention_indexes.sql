-- The retention sweep (core/retention) deletes the oldest rows of these tables a batch at a time: it
-- finds them by age.
CREATE INDEX inbox_received_at ON payments.inbox (received_at);
CREATE INDEX closed_orders_closed_at ON payments.closed_orders (closed_at);

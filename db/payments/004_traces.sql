-- A payment keeps the trace of its order (from order.created), and its events are published in it.
ALTER TABLE payments.payments ADD COLUMN traceparent text;
ALTER TABLE payments.outbox ADD COLUMN traceparent text;

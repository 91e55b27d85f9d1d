-- One order is one trace: the trace context of the POST /orders that made it is kept with the order, and
-- every event about the order, whichever way it ends, is published in that trace.
ALTER TABLE orders.orders ADD COLUMN traceparent text;
ALTER TABLE orders.outbox ADD COLUMN traceparent text;

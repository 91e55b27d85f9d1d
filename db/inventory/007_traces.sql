-- Every event carries the W3C trace context of what caused it (an AMQP header when it is published). The
-- reset's hold.voided events start traces of their own: the column stays empty for them.
ALTER TABLE inventory.outbox ADD COLUMN traceparent text;

-- The outbox needs no index on message_id: nothing looks a row up by it (the relay reads in seq order,
-- consumers dedupe in their own inbox), and gen_random_uuid() does not repeat. The unique index only
-- cost every order an insert at a random place in a B-tree.
ALTER TABLE orders.outbox DROP CONSTRAINT outbox_message_id_key;

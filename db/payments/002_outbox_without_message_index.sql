-- As in orders: nothing looks an outbox row up by message_id, so its unique index only cost every
-- event an insert.
ALTER TABLE payments.outbox DROP CONSTRAINT outbox_message_id_key;

-- An Idempotency-Key's row is now written once, with its final answer, in the statement that records
-- what it answers (the order, or a refusal): there are no claims in progress any more, and nothing to
-- recover after a crash. Claims an older version left behind belong to requests that are gone; their
-- holds expire on their own.
DELETE FROM orders.idempotency_keys WHERE state = 'IN_PROGRESS';
DROP INDEX orders.idempotency_keys_in_progress;

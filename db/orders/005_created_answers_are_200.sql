-- A successful POST /orders answers 200 (as the original service did, whose clients count only 200 as
-- success), also when it is replayed: the answers stored as 201 are 200 from now on.
UPDATE orders.idempotency_keys SET response_status = 200 WHERE response_status = 201;

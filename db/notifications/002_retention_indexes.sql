-- The retention sweep (core/retention) deletes the oldest inbox rows a batch at a time: it finds them
-- by age.
CREATE INDEX inbox_received_at ON notifications.inbox (received_at);

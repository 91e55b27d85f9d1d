-- The 64 WAL segments of 16 MB that min_wal_size (1GB, embedded/postgresql.conf) keeps, made before the
-- first sale rather than by its commits: each switch makes the next segment, and the checkpoint keeps
-- the finished ones for reuse. Run as the superuser, once per cluster (a few seconds); a cluster that
-- has them recycles them.
-- A run cut short leaves its table behind: start from none.
DROP TABLE IF EXISTS wal_warmup;
CREATE TABLE wal_warmup (n int);
DO $$
BEGIN
  FOR i IN 1..64 LOOP
    INSERT INTO wal_warmup VALUES (i);
    PERFORM pg_switch_wal();
  END LOOP;
END $$;
DROP TABLE wal_warmup;
CHECKPOINT;

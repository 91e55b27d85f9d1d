-- A hold made by POST /inventory/reserve answers a secret that lets its maker release it (the service
-- role may release any hold; nobody else may). Only the secret's SHA-256 is kept, as for order secrets.
ALTER TABLE inventory.reservations ADD COLUMN secret_sha256 text CHECK (secret_sha256 ~ '^[0-9a-f]{64}$');

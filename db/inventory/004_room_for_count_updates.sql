-- Every batch rewrites its event's row (the counts). Half of each page is left free, so the new version
-- fits beside the old one: a HOT update, which adds no index entry and whose dead versions are pruned in
-- place. Packed full, a page of busy events sends updates to other pages instead. Rows written before
-- this keep their pages until the table is rewritten.
ALTER TABLE inventory.events SET (fillfactor = 50);

-- Sales windows: an event sells from sales_start (inclusive) until sales_end (exclusive); either may be
-- absent, for no bound on that side. A reserve outside the window is refused (409 not_on_sale) and holds
-- nothing; holds made inside it live on after the end as any hold does (expiry, confirm, release).
ALTER TABLE inventory.events
    ADD COLUMN sales_start timestamptz,
    ADD COLUMN sales_end   timestamptz,
    ADD CONSTRAINT sales_window_in_order CHECK (sales_end > sales_start);

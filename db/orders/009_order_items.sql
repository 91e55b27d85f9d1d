-- What an order buys and what it costs: its items (ticket type, quantity, unit price as inventory held
-- them) and their total in minor units of the event's currency, which payments charges. Orders made
-- before ticket types had one free kind of ticket: no items, amount 0, no currency.
ALTER TABLE orders.orders
    ADD COLUMN items        jsonb  NOT NULL DEFAULT '[]',
    ADD COLUMN amount_minor bigint NOT NULL DEFAULT 0 CHECK (amount_minor >= 0),
    ADD COLUMN currency     text   CHECK (currency ~ '^[A-Z]{3}$');

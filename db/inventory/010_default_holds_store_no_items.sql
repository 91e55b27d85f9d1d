-- A hold of its event's default type alone, made while that type has no quota (most holds of most sales),
-- stores no items: NULL in all three arrays, read back as `quantity` tickets of the default type at
-- amount_minor / quantity each. About 90 bytes less on each such row, and as much less WAL per hold. No
-- type's books count such a hold (only types with a quota are counted), and a type gets a first quota only
-- while its event has nothing held or sold, so none has to later.
--
-- The three go NULL together. Every row so far has all three (they were NOT NULL), so the CHECK is not
-- validated against them: no scan of the holds while this statement keeps the table locked.
ALTER TABLE inventory.reservations
    ALTER COLUMN item_type_ids DROP NOT NULL,
    ALTER COLUMN item_quantities DROP NOT NULL,
    ALTER COLUMN item_prices_minor DROP NOT NULL,
    ADD CONSTRAINT items_stored_together CHECK ((item_type_ids IS NULL) = (item_quantities IS NULL)
                                                AND (item_type_ids IS NULL) = (item_prices_minor IS NULL)) NOT VALID;

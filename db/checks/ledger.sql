-- The ledger check: every row returned is an event whose books do not balance.
-- Invariant: available_tickets + sum(HELD) + sum(CONFIRMED) = total_tickets, and available_tickets >= 0;
-- the sold count the event row carries equals sum(CONFIRMED).
SELECT e.id,
       e.total_tickets,
       e.available_tickets,
       e.sold_tickets AS counted_sold,
       s.held_tickets,
       s.sold_tickets
  FROM inventory.events e
  CROSS JOIN LATERAL (
        SELECT coalesce(sum(r.quantity) FILTER (WHERE r.status = 'HELD'), 0)      AS held_tickets,
               coalesce(sum(r.quantity) FILTER (WHERE r.status = 'CONFIRMED'), 0) AS sold_tickets
          FROM inventory.reservations r
         WHERE r.event_id = e.id) s
 WHERE e.available_tickets + s.held_tickets + s.sold_tickets <> e.total_tickets
    OR e.available_tickets < 0
    OR e.sold_tickets <> s.sold_tickets
 ORDER BY e.id;

-- The ledger check: every row returned is an event, or a ticket type with a quota, whose books do not
-- balance.
-- Invariant per event: available_tickets + sum(HELD) + sum(CONFIRMED) = total_tickets, and
-- available_tickets >= 0; the sold count the event row carries equals sum(CONFIRMED).
-- The same per ticket type with a quota, over its holds' items: available_tickets + held + sold = quota.
SELECT 'event' AS what,
       e.id,
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
UNION ALL
SELECT 'ticket type',
       t.id,
       t.quota,
       t.available_tickets,
       t.sold_tickets,
       s.held_tickets,
       s.sold_tickets
  FROM inventory.ticket_types t
  CROSS JOIN LATERAL (
        SELECT coalesce(sum(i.quantity) FILTER (WHERE r.status = 'HELD'), 0)      AS held_tickets,
               coalesce(sum(i.quantity) FILTER (WHERE r.status = 'CONFIRMED'), 0) AS sold_tickets
          FROM inventory.reservations r,
               unnest(r.item_type_ids, r.item_quantities) AS i(type_id, quantity)
         WHERE r.event_id = t.event_id AND i.type_id = t.id) s
 WHERE t.quota IS NOT NULL
   AND (t.available_tickets + s.held_tickets + s.sold_tickets <> t.quota
        OR t.available_tickets < 0
        OR t.sold_tickets <> s.sold_tickets)
 ORDER BY 1, 2;

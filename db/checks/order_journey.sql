-- One order's journey through the four services' tables, in time order: one row per thing that
-- happened, as `time <tab> service <tab> what`. :'order_id' is the order's id (psql -v order_id=...).
-- Run by ./flashtix trace, which adds the services' log lines of the order's trace.
WITH outboxes AS (
    -- Orders and payments announce an order's changes through outboxes of one shape: read as one.
    SELECT 'orders' AS service, type, message_id, occurred_at, published_at
      FROM orders.outbox WHERE correlation_id = :'order_id'
    UNION ALL
    SELECT 'payments', type, message_id, occurred_at, published_at
      FROM payments.outbox WHERE correlation_id = :'order_id'),
times AS (
    SELECT o.created_at AS at, 'orders' AS service,
           format('order created PENDING_PAYMENT: %s ticket(s) of event %s (trace %s)', o.quantity, o.event_id,
                  coalesce(substr(o.traceparent, 4, 32), 'none')) AS what
      FROM orders.orders o WHERE o.id = :'order_id'::uuid
    UNION ALL
    SELECT o.updated_at, 'orders', format('order %s%s', o.status, coalesce(' (' || o.status_reason || ')', ''))
      FROM orders.orders o WHERE o.id = :'order_id'::uuid AND o.status <> 'PENDING_PAYMENT'
    UNION ALL
    SELECT r.created_at, 'inventory', format('hold %s made: %s ticket(s), held until %s', r.id, r.quantity, r.expires_at)
      FROM inventory.reservations r WHERE r.reservation_key = :'order_id'
    UNION ALL
    SELECT r.updated_at, 'inventory', format('hold %s %s', r.id, r.status)
      FROM inventory.reservations r WHERE r.reservation_key = :'order_id' AND r.status <> 'HELD'
    UNION ALL
    SELECT x.occurred_at, x.service, format('%s written to the outbox (message %s)', x.type, x.message_id)
      FROM outboxes x
    UNION ALL
    SELECT x.published_at, x.service, format('%s published', x.type)
      FROM outboxes x WHERE x.published_at IS NOT NULL
    UNION ALL
    SELECT p.created_at, 'payments', format('payment %s started', p.id)
      FROM payments.payments p WHERE p.order_id = :'order_id'::uuid
    UNION ALL
    SELECT p.updated_at, 'payments', format('payment %s %s%s', p.id, p.status, coalesce(' (' || p.failure_reason || ')', ''))
      FROM payments.payments p WHERE p.order_id = :'order_id'::uuid AND p.status <> 'pending'
    UNION ALL
    SELECT n.created_at, 'notifications', format('%s notification %s recorded (%s)', n.kind, n.id, n.status)
      FROM notifications.notifications n WHERE n.order_id = :'order_id'::uuid
    UNION ALL
    SELECT n.delivered_at, 'notifications', format('%s notification %s delivered', n.kind, n.id)
      FROM notifications.notifications n WHERE n.order_id = :'order_id'::uuid AND n.delivered_at IS NOT NULL)
SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), service, what FROM times ORDER BY at;

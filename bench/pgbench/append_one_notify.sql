-- append_one.sql with the NOTIFY an append in a caller's transaction used to send from its
-- statement: shows the database-wide lock a notifying commit holds through its WAL flush.
\set id random(1, 9000000000000000000)
BEGIN;
WITH head AS (
    INSERT INTO stream_heads (bounded_context, aggregate_type, aggregate_id, version)
    SELECT '', 'notify', :id::text, 1
    WHERE NOT EXISTS (SELECT 1 FROM events WHERE event_id = md5(:id::text || 'notify')::uuid)
    ON CONFLICT DO NOTHING RETURNING version),
ins AS (
    INSERT INTO events (bounded_context, aggregate_type, aggregate_id, aggregate_version,
        stream_hash, event_id, event_type, event_version, payload, metadata, created_at,
        trace_id, correlation_id, causation_id)
    SELECT '', 'notify', :id, head.version, 0, md5(:id::text || 'notify')::uuid, 'Appended', 1,
        '\x7b22616d6f756e74223a34327d'::bytea, '{}'::jsonb, now(), NULL, NULL, NULL
    FROM head RETURNING global_position),
notified AS (SELECT pg_notify('pupsourcing_events', max(global_position)::text) FROM ins)
SELECT (SELECT version FROM head), ARRAY(SELECT global_position FROM ins),
    (SELECT count(*) FROM notified);
COMMIT;

-- The store's single-event append to a new stream (the NoStream form), as the adapter sends it.
\set id random(1, 9000000000000000000)
BEGIN;
WITH head AS (
    INSERT INTO stream_heads (bounded_context, aggregate_type, aggregate_id, version)
    SELECT '', 'one', :id::text, 1
    WHERE NOT EXISTS (SELECT 1 FROM events WHERE event_id = md5(:id::text || 'one')::uuid)
    ON CONFLICT DO NOTHING RETURNING version),
ins AS (
    INSERT INTO events (bounded_context, aggregate_type, aggregate_id, aggregate_version,
        stream_hash, event_id, event_type, event_version, payload, metadata, created_at,
        trace_id, correlation_id, causation_id)
    SELECT '', 'one', :id, head.version, 0, md5(:id::text || 'one')::uuid, 'Appended', 1,
        '\x7b22616d6f756e74223a34327d'::bytea, '{}'::jsonb, now(), NULL, NULL, NULL
    FROM head RETURNING global_position)
SELECT (SELECT version FROM head), ARRAY(SELECT global_position FROM ins),
  pg_current_xact_id_if_assigned()::text::bigint;
COMMIT;

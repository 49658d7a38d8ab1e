-- append_one.sql without the stream-head write: isolates the head's cost.
\set id random(1, 9000000000000000000)
BEGIN;
WITH ins AS (
    INSERT INTO events (bounded_context, aggregate_type, aggregate_id, aggregate_version,
        stream_hash, event_id, event_type, event_version, payload, metadata, created_at,
        trace_id, correlation_id, causation_id)
    SELECT '', 'nohead', :id, 1, 0, md5(:id::text || 'nohead')::uuid, 'Appended', 1,
        '\x7b22616d6f756e74223a34327d'::bytea, '{}'::jsonb, now(), NULL, NULL, NULL
    WHERE NOT EXISTS (SELECT 1 FROM events WHERE event_id = md5(:id::text || 'nohead')::uuid)
    RETURNING global_position)
SELECT ARRAY(SELECT global_position FROM ins);
COMMIT;

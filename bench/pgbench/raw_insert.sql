-- The raw limit: one single-row INSERT per transaction.
\set id random(1, 9000000000000000000)
BEGIN;
INSERT INTO events (aggregate_type, aggregate_id, aggregate_version, stream_hash, event_id,
    event_type, event_version, payload, metadata, created_at)
VALUES ('raw', :id, 1, 0, md5(:id::text || 'raw')::uuid, 'Appended', 1,
    '\x7b22616d6f756e74223a34327d', '{}', now());
COMMIT;

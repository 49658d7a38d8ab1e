-- events.read_stream (arguments [0, 1, 2, 3, 4])
SELECT "global_position", "aggregate_version", "bounded_context", "aggregate_type", "aggregate_id", "event_id", "event_type", "event_version", "payload", "metadata", "created_at", "trace_id", "correlation_id", "causation_id" FROM "events" WHERE "bounded_context" = $1 AND "aggregate_type" = $2 AND "aggregate_id" = $3 AND ("aggregate_version" BETWEEN $4 AND $5) ORDER BY "aggregate_version" ASC;

-- events.stream_version (arguments [0, 1, 2])
SELECT "version" FROM "stream_heads" WHERE "bounded_context" = $1 AND "aggregate_type" = $2 AND "aggregate_id" = $3;

-- events.read_events (arguments [0, 1])
SELECT "global_position", "aggregate_version", "bounded_context", "aggregate_type", "aggregate_id", "event_id", "event_type", "event_version", "payload", "metadata", "created_at", "trace_id", "correlation_id", "causation_id" FROM "events" WHERE "global_position" > $1 ORDER BY "global_position" ASC LIMIT $2;

-- events.latest_position (arguments [])
SELECT coalesce(max(global_position), 0) FROM "events";

-- membership.leave (arguments [0])
DELETE FROM "worker_nodes" WHERE "node_id" = $1;

-- membership.live_nodes (arguments [0])
SELECT "node_id", "consumers", "version", "started_at" FROM "worker_nodes" WHERE "heartbeat_at" > (now() - make_interval(secs => $1)) ORDER BY "node_id" ASC;

-- leadership.release_lease (arguments [0, 1])
UPDATE "worker_leader" SET "node_id" = NULL, "expires_at" = now() WHERE "id" = (1) AND "node_id" = $1 AND "epoch" = $2;

-- assignments.consumers (arguments [])
SELECT "name", "partitions", "previous_partitions", "drain_position" FROM "worker_consumers" ORDER BY "name" ASC;

-- assignments.units (arguments [])
SELECT "a"."consumer", "a"."partitions", "a"."partition", "a"."owner", "a"."epoch", "c"."position" FROM "worker_assignments" AS "a" INNER JOIN "consumer_checkpoints" AS "c" ON "c"."consumer" = "a"."consumer" AND "c"."partitions" = "a"."partitions" AND "c"."partition" = "a"."partition" ORDER BY "a"."consumer" ASC, "a"."partitions" ASC, "a"."partition" ASC;

-- assignments.create_consumer (arguments [0, 1])
INSERT INTO "worker_consumers" ("name", "partitions", "updated_at") VALUES ($1, $2, now()) ON CONFLICT ("name") DO NOTHING;

-- assignments.start_transition (arguments [1, 2, 3, 0])
UPDATE "worker_consumers" SET "partitions" = $1, "previous_partitions" = $2, "drain_position" = $3, "updated_at" = now() WHERE "name" = $4 AND "previous_partitions" IS NULL;

-- assignments.set_drain_limit (arguments [2, 0, 1])
UPDATE "consumer_checkpoints" SET "upto" = $1 WHERE "consumer" = $2 AND "partitions" = $3;

-- assignments.drop_assignments (arguments [0, 1])
DELETE FROM "worker_assignments" WHERE "consumer" = $1 AND "partitions" = $2;

-- assignments.drop_checkpoints (arguments [0, 1])
DELETE FROM "consumer_checkpoints" WHERE "consumer" = $1 AND "partitions" = $2;

-- assignments.drop_status (arguments [0, 1])
DELETE FROM "consumer_status" WHERE "consumer" = $1 AND "partitions" = $2;

-- assignments.finish_transition (arguments [0])
UPDATE "worker_consumers" SET "previous_partitions" = NULL, "drain_position" = NULL, "updated_at" = now() WHERE "name" = $1;

-- assignments.assign (arguments [3, 0, 1, 2])
UPDATE "worker_assignments" SET "owner" = $1, "epoch" = "epoch" + (1) WHERE "consumer" = $2 AND "partitions" = $3 AND "partition" = $4;

-- assignments.assignments_of (arguments [0])
SELECT "consumer", "partitions", "partition", "epoch" FROM "worker_assignments" WHERE "owner" = $1;

-- assignments.release_units (arguments [0])
UPDATE "worker_assignments" SET "owner" = NULL, "epoch" = "epoch" + (1) WHERE "owner" = $1;

-- batches.clear_failures (arguments [0, 1, 2])
UPDATE "consumer_status" SET "attempts" = 0, "last_error" = NULL, "failed_position" = NULL, "failing_since" = NULL, "updated_at" = now() WHERE "consumer" = $1 AND "partitions" = $2 AND "partition" = $3;

-- operations.status (arguments [])
SELECT "a"."consumer", "a"."partitions", "a"."partition", "a"."owner", "a"."epoch", "c"."position", "c"."upto", "s"."paused", "s"."attempts", "s"."last_error", "s"."failed_position", "s"."skip_position", "s"."failing_since" FROM "worker_assignments" AS "a" INNER JOIN "consumer_checkpoints" AS "c" ON "c"."consumer" = "a"."consumer" AND "c"."partitions" = "a"."partitions" AND "c"."partition" = "a"."partition" INNER JOIN "consumer_status" AS "s" ON "s"."consumer" = "a"."consumer" AND "s"."partitions" = "a"."partitions" AND "s"."partition" = "a"."partition" ORDER BY "a"."consumer" ASC, "a"."partitions" ASC, "a"."partition" ASC;

-- operations.nodes (arguments [])
SELECT "n"."node_id", "n"."consumers", "n"."version", "n"."started_at", CAST(extract(epoch FROM now() - n.heartbeat_at) * 1000000 AS bigint), CASE WHEN l.expires_at > now() THEN l.node_id END FROM "worker_nodes" AS "n" LEFT JOIN "worker_leader" AS "l" ON l.id = 1 ORDER BY "n"."node_id" ASC;

-- operations.set_paused (arguments [2, 2, 2, 0, 1, 1])
UPDATE "consumer_status" SET "paused" = $1, "attempts" = CASE WHEN $2 THEN attempts ELSE 0 END, "failing_since" = CASE WHEN $3 THEN failing_since END, "updated_at" = now() WHERE "consumer" = $4 AND ($5 IS NULL OR "partition" = $6);

-- operations.reset_checkpoints (arguments [1, 0])
UPDATE "consumer_checkpoints" SET "position" = $1, "updated_at" = now() WHERE "consumer" = $2;

-- operations.reset_status (arguments [0])
UPDATE "consumer_status" SET "attempts" = 0, "last_error" = NULL, "failed_position" = NULL, "skip_position" = NULL, "failing_since" = NULL, "updated_at" = now() WHERE "consumer" = $1;

-- snapshots.save (arguments [0, 1, 2, 3, 4, 5, 6])
INSERT INTO "snapshots" ("bounded_context", "aggregate_type", "aggregate_id", "stream_version", "state_version", "state", "taken_at") VALUES ($1, $2, $3, $4, $5, $6, TIMESTAMPTZ 'epoch' + $7 * INTERVAL '1 microsecond') ON CONFLICT ("bounded_context", "aggregate_type", "aggregate_id", "stream_version") DO UPDATE SET "state_version" = "excluded"."state_version", "state" = "excluded"."state", "taken_at" = "excluded"."taken_at";

-- snapshots.latest (arguments [0, 1, 2, 3])
SELECT "stream_version", "state_version", "state", "taken_at" FROM "snapshots" WHERE "bounded_context" = $1 AND "aggregate_type" = $2 AND "aggregate_id" = $3 AND "stream_version" <= $4 ORDER BY "stream_version" DESC LIMIT 1;

-- snapshots.delete_stream (arguments [0, 1, 2])
DELETE FROM "snapshots" WHERE "bounded_context" = $1 AND "aggregate_type" = $2 AND "aggregate_id" = $3;

-- snapshots.delete_aggregate_type (arguments [0])
DELETE FROM "snapshots" WHERE "aggregate_type" = $1;

-- snapshots.stats (arguments [0])
SELECT count(*), coalesce(sum(octet_length(state)), 0) FROM "snapshots" WHERE "aggregate_type" = $1;

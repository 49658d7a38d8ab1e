-- events.read_stream (arguments [0, 1, 2, 3, 4])
SELECT `global_position`, `aggregate_version`, `bounded_context`, `aggregate_type`, `aggregate_id`, `event_id`, `event_type`, `event_version`, `payload`, `metadata`, `created_at`, `trace_id`, `correlation_id`, `causation_id` FROM `events` WHERE `bounded_context` = ? AND `aggregate_type` = ? AND `aggregate_id` = ? AND (`aggregate_version` BETWEEN ? AND ?) ORDER BY `aggregate_version` ASC;

-- events.stream_version (arguments [0, 1, 2])
SELECT `version` FROM `stream_heads` WHERE `bounded_context` = ? AND `aggregate_type` = ? AND `aggregate_id` = ?;

-- events.read_events (arguments [0, 1])
SELECT `global_position`, `aggregate_version`, `bounded_context`, `aggregate_type`, `aggregate_id`, `event_id`, `event_type`, `event_version`, `payload`, `metadata`, `created_at`, `trace_id`, `correlation_id`, `causation_id` FROM `events` WHERE `global_position` > ? ORDER BY `global_position` ASC LIMIT ?;

-- events.latest_position (arguments [])
SELECT coalesce(max(global_position), 0) FROM `events`;

-- membership.leave (arguments [0])
DELETE FROM `worker_nodes` WHERE `node_id` = ?;

-- membership.live_nodes (arguments [0])
SELECT `node_id`, `consumers`, `version`, `started_at` FROM `worker_nodes` WHERE `heartbeat_at` > (UTC_TIMESTAMP(6) - INTERVAL ? MICROSECOND) ORDER BY `node_id` ASC;

-- leadership.release_lease (arguments [0, 1])
UPDATE `worker_leader` SET `node_id` = NULL, `expires_at` = UTC_TIMESTAMP(6) WHERE `id` = (1) AND `node_id` = ? AND `epoch` = ?;

-- assignments.consumers (arguments [])
SELECT `name`, `partitions`, `previous_partitions`, `drain_position` FROM `worker_consumers` ORDER BY `name` ASC;

-- assignments.units (arguments [])
SELECT `a`.`consumer`, `a`.`partitions`, `a`.`partition`, `a`.`owner`, `a`.`epoch`, `c`.`position` FROM `worker_assignments` AS `a` INNER JOIN `consumer_checkpoints` AS `c` ON `c`.`consumer` = `a`.`consumer` AND `c`.`partitions` = `a`.`partitions` AND `c`.`partition` = `a`.`partition` ORDER BY `a`.`consumer` ASC, `a`.`partitions` ASC, `a`.`partition` ASC;

-- assignments.create_consumer (arguments [0, 1])
INSERT INTO `worker_consumers` (`name`, `partitions`, `updated_at`) VALUES (?, ?, UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE `name` = `name`;

-- assignments.start_transition (arguments [1, 2, 3, 0])
UPDATE `worker_consumers` SET `partitions` = ?, `previous_partitions` = ?, `drain_position` = ?, `updated_at` = UTC_TIMESTAMP(6) WHERE `name` = ? AND `previous_partitions` IS NULL;

-- assignments.set_drain_limit (arguments [2, 0, 1])
UPDATE `consumer_checkpoints` SET `upto` = ? WHERE `consumer` = ? AND `partitions` = ?;

-- assignments.drop_assignments (arguments [0, 1])
DELETE FROM `worker_assignments` WHERE `consumer` = ? AND `partitions` = ?;

-- assignments.drop_checkpoints (arguments [0, 1])
DELETE FROM `consumer_checkpoints` WHERE `consumer` = ? AND `partitions` = ?;

-- assignments.drop_status (arguments [0, 1])
DELETE FROM `consumer_status` WHERE `consumer` = ? AND `partitions` = ?;

-- assignments.finish_transition (arguments [0])
UPDATE `worker_consumers` SET `previous_partitions` = NULL, `drain_position` = NULL, `updated_at` = UTC_TIMESTAMP(6) WHERE `name` = ?;

-- assignments.assign (arguments [3, 0, 1, 2])
UPDATE `worker_assignments` SET `owner` = ?, `epoch` = `epoch` + (1) WHERE `consumer` = ? AND `partitions` = ? AND `partition` = ?;

-- assignments.assignments_of (arguments [0])
SELECT `consumer`, `partitions`, `partition`, `epoch` FROM `worker_assignments` WHERE `owner` = ?;

-- assignments.release_units (arguments [0])
UPDATE `worker_assignments` SET `owner` = NULL, `epoch` = `epoch` + (1) WHERE `owner` = ?;

-- batches.clear_failures (arguments [0, 1, 2])
UPDATE `consumer_status` SET `attempts` = 0, `last_error` = NULL, `failed_position` = NULL, `failing_since` = NULL, `updated_at` = UTC_TIMESTAMP(6) WHERE `consumer` = ? AND `partitions` = ? AND `partition` = ?;

-- operations.status (arguments [])
SELECT `a`.`consumer`, `a`.`partitions`, `a`.`partition`, `a`.`owner`, `a`.`epoch`, `c`.`position`, `c`.`upto`, `s`.`paused`, `s`.`attempts`, `s`.`last_error`, `s`.`failed_position`, `s`.`skip_position`, `s`.`failing_since` FROM `worker_assignments` AS `a` INNER JOIN `consumer_checkpoints` AS `c` ON `c`.`consumer` = `a`.`consumer` AND `c`.`partitions` = `a`.`partitions` AND `c`.`partition` = `a`.`partition` INNER JOIN `consumer_status` AS `s` ON `s`.`consumer` = `a`.`consumer` AND `s`.`partitions` = `a`.`partitions` AND `s`.`partition` = `a`.`partition` ORDER BY `a`.`consumer` ASC, `a`.`partitions` ASC, `a`.`partition` ASC;

-- operations.nodes (arguments [])
SELECT `n`.`node_id`, `n`.`consumers`, `n`.`version`, `n`.`started_at`, TIMESTAMPDIFF(MICROSECOND, n.heartbeat_at, UTC_TIMESTAMP(6)), CASE WHEN l.expires_at > UTC_TIMESTAMP(6) THEN l.node_id END FROM `worker_nodes` AS `n` LEFT JOIN `worker_leader` AS `l` ON l.id = 1 ORDER BY `n`.`node_id` ASC;

-- operations.set_paused (arguments [2, 2, 2, 0, 1, 1])
UPDATE `consumer_status` SET `paused` = ?, `attempts` = CASE WHEN ? THEN attempts ELSE 0 END, `failing_since` = CASE WHEN ? THEN failing_since END, `updated_at` = UTC_TIMESTAMP(6) WHERE `consumer` = ? AND (? IS NULL OR `partition` = ?);

-- operations.reset_checkpoints (arguments [1, 0])
UPDATE `consumer_checkpoints` SET `position` = ?, `updated_at` = UTC_TIMESTAMP(6) WHERE `consumer` = ?;

-- operations.reset_status (arguments [0])
UPDATE `consumer_status` SET `attempts` = 0, `last_error` = NULL, `failed_position` = NULL, `skip_position` = NULL, `failing_since` = NULL, `updated_at` = UTC_TIMESTAMP(6) WHERE `consumer` = ?;

-- snapshots.save (arguments [0, 1, 2, 3, 4, 5, 6])
INSERT INTO `snapshots` (`bounded_context`, `aggregate_type`, `aggregate_id`, `stream_version`, `state_version`, `state`, `taken_at`) VALUES (?, ?, ?, ?, ?, ?, TIMESTAMPADD(MICROSECOND, ?, '1970-01-01 00:00:00')) ON DUPLICATE KEY UPDATE `state_version` = VALUES(`state_version`), `state` = VALUES(`state`), `taken_at` = VALUES(`taken_at`);

-- snapshots.latest (arguments [0, 1, 2, 3])
SELECT `stream_version`, `state_version`, `state`, `taken_at` FROM `snapshots` WHERE `bounded_context` = ? AND `aggregate_type` = ? AND `aggregate_id` = ? AND `stream_version` <= ? ORDER BY `stream_version` DESC LIMIT 1;

-- snapshots.delete_stream (arguments [0, 1, 2])
DELETE FROM `snapshots` WHERE `bounded_context` = ? AND `aggregate_type` = ? AND `aggregate_id` = ?;

-- snapshots.delete_aggregate_type (arguments [0])
DELETE FROM `snapshots` WHERE `aggregate_type` = ?;

-- snapshots.stats (arguments [0])
SELECT count(*), CAST(coalesce(sum(length(state)), 0) AS SIGNED) FROM `snapshots` WHERE `aggregate_type` = ?;

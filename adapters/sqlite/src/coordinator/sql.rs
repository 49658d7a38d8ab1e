//! The coordinator's SQL for SQLite. Times are integer microseconds since the Unix epoch from
//! SQLite's own clock (`NOW`); write transactions are exclusive, so no row locks are needed.

use pupsourcing_migrations::Tables;

/// The current time in microseconds, from SQLite.
const NOW: &str = "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)";

/// `consumer = ?1 AND partitions = ?2 AND partition = ?3`.
const UNIT: &str = "consumer = ?1 AND partitions = ?2 AND partition = ?3";

#[derive(Debug)]
pub(crate) struct Statements {
    pub(crate) heartbeat: String,
    pub(crate) leave: String,
    pub(crate) live_nodes: String,
    pub(crate) leader: String,
    pub(crate) take_lease: String,
    pub(crate) renew_lease: String,
    pub(crate) release_lease: String,
    pub(crate) lease_valid: String,
    pub(crate) consumers: String,
    pub(crate) units: String,
    pub(crate) create_consumer: String,
    pub(crate) create_assignment: String,
    pub(crate) create_checkpoint: String,
    pub(crate) create_status: String,
    pub(crate) highest_old_checkpoint: String,
    pub(crate) start_transition: String,
    pub(crate) set_drain_limit: String,
    pub(crate) drop_assignments: String,
    pub(crate) drop_checkpoints: String,
    pub(crate) drop_status: String,
    pub(crate) finish_transition: String,
    pub(crate) assign: String,
    pub(crate) assignments_of: String,
    pub(crate) release_units: String,
    pub(crate) begin_batch: String,
    pub(crate) owned: String,
    pub(crate) move_checkpoint: String,
    pub(crate) settle: String,
    pub(crate) unit_paused: String,
    pub(crate) record_failure: String,
    pub(crate) clear_failures: String,
    pub(crate) status: String,
    pub(crate) set_paused: String,
    pub(crate) skip_failed: String,
    pub(crate) consumer_transition: String,
    pub(crate) reset_checkpoints: String,
    pub(crate) reset_status: String,
}

impl Statements {
    pub(crate) fn new(tables: &Tables) -> Self {
        let nodes = tables.qualified(tables.nodes());
        let leader = tables.qualified(tables.leader());
        let consumers = tables.qualified(tables.consumers());
        let assignments = tables.qualified(tables.assignments());
        let checkpoints = tables.qualified(tables.checkpoints());
        let status = tables.qualified(tables.consumer_status());
        let same_unit = |x: &str, y: &str| {
            format!(
                "{x}.consumer = {y}.consumer AND {x}.partitions = {y}.partitions AND {x}.partition = {y}.partition"
            )
        };
        Self {
            heartbeat: format!(
                "INSERT INTO {nodes} (node_id, consumers, version, started_at, heartbeat_at) \
                 VALUES (?1, ?2, ?3, {NOW}, {NOW}) ON CONFLICT (node_id) DO UPDATE SET \
                 consumers = excluded.consumers, version = excluded.version, heartbeat_at = {NOW}"
            ),
            leave: format!("DELETE FROM {nodes} WHERE node_id = ?1"),
            live_nodes: format!(
                "SELECT node_id, consumers, version, started_at FROM {nodes} \
                 WHERE heartbeat_at > {NOW} - ?1 ORDER BY node_id"
            ),
            leader: format!("SELECT node_id, epoch, expires_at > {NOW} FROM {leader} WHERE id = 1"),
            take_lease: format!(
                "INSERT INTO {leader} (id, node_id, epoch, expires_at) VALUES (1, ?1, ?2, {NOW} + ?3) \
                 ON CONFLICT (id) DO UPDATE SET node_id = excluded.node_id, epoch = excluded.epoch, \
                 expires_at = excluded.expires_at"
            ),
            renew_lease: format!(
                "UPDATE {leader} SET expires_at = {NOW} + ?2 WHERE id = 1 AND node_id = ?1"
            ),
            release_lease: format!(
                "UPDATE {leader} SET node_id = NULL, expires_at = {NOW} WHERE id = 1 AND node_id = ?1 AND epoch = ?2"
            ),
            lease_valid: format!(
                "SELECT EXISTS (SELECT 1 FROM {leader} WHERE id = 1 AND node_id = ?1 AND epoch = ?2 \
                 AND expires_at > {NOW})"
            ),
            consumers: format!(
                "SELECT name, partitions, previous_partitions, drain_position FROM {consumers} ORDER BY name"
            ),
            units: format!(
                "SELECT a.consumer, a.partitions, a.partition, a.owner, a.epoch, c.position \
                 FROM {assignments} a JOIN {checkpoints} c ON {} ORDER BY 1, 2, 3",
                same_unit("c", "a")
            ),
            create_consumer: format!(
                "INSERT INTO {consumers} (name, partitions, updated_at) VALUES (?1, ?2, {NOW}) \
                 ON CONFLICT (name) DO NOTHING"
            ),
            create_assignment: format!(
                "INSERT INTO {assignments} (consumer, partitions, partition, owner, epoch) \
                 VALUES (?1, ?2, ?3, NULL, 0) ON CONFLICT DO NOTHING"
            ),
            create_checkpoint: format!(
                "INSERT INTO {checkpoints} (consumer, partitions, partition, position, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, {NOW}) ON CONFLICT DO NOTHING"
            ),
            create_status: format!(
                "INSERT INTO {status} (consumer, partitions, partition, paused, attempts, updated_at) \
                 VALUES (?1, ?2, ?3, 0, 0, {NOW}) ON CONFLICT DO NOTHING"
            ),
            highest_old_checkpoint: format!(
                "SELECT coalesce(max(position), 0) FROM {checkpoints} WHERE consumer = ?1 AND partitions = ?2"
            ),
            start_transition: format!(
                "UPDATE {consumers} SET partitions = ?2, previous_partitions = ?3, drain_position = ?4, \
                 updated_at = {NOW} WHERE name = ?1 AND previous_partitions IS NULL"
            ),
            set_drain_limit: format!(
                "UPDATE {checkpoints} SET upto = ?3 WHERE consumer = ?1 AND partitions = ?2"
            ),
            drop_assignments: format!(
                "DELETE FROM {assignments} WHERE consumer = ?1 AND partitions = ?2"
            ),
            drop_checkpoints: format!(
                "DELETE FROM {checkpoints} WHERE consumer = ?1 AND partitions = ?2"
            ),
            drop_status: format!("DELETE FROM {status} WHERE consumer = ?1 AND partitions = ?2"),
            finish_transition: format!(
                "UPDATE {consumers} SET previous_partitions = NULL, drain_position = NULL, \
                 updated_at = {NOW} WHERE name = ?1"
            ),
            assign: format!("UPDATE {assignments} SET owner = ?4, epoch = epoch + 1 WHERE {UNIT}"),
            assignments_of: format!(
                "SELECT consumer, partitions, partition, epoch FROM {assignments} WHERE owner = ?1"
            ),
            release_units: format!(
                "UPDATE {assignments} SET owner = NULL, epoch = epoch + 1 WHERE owner = ?1"
            ),
            begin_batch: format!(
                "SELECT c.position, c.upto, s.paused, s.skip_position FROM {checkpoints} c \
                 JOIN {status} s ON {} WHERE c.consumer = ?1 AND c.partitions = ?2 AND c.partition = ?3",
                same_unit("s", "c")
            ),
            owned: format!(
                "SELECT EXISTS (SELECT 1 FROM {assignments} WHERE {UNIT} AND owner = ?4 AND epoch = ?5)"
            ),
            move_checkpoint: format!(
                "UPDATE {checkpoints} SET position = ?4, updated_at = {NOW} WHERE {UNIT}"
            ),
            // Forgets a passed skip and clears the failure record; writes only when there is
            // something to clear.
            settle: format!(
                "UPDATE {status} SET \
                   skip_position = CASE WHEN skip_position <= ?4 THEN NULL ELSE skip_position END, \
                   attempts = 0, last_error = NULL, failed_position = NULL, failing_since = NULL \
                 WHERE {UNIT} AND (skip_position <= ?4 OR attempts > 0 OR last_error IS NOT NULL)"
            ),
            unit_paused: format!("SELECT paused FROM {status} WHERE {UNIT}"),
            // `?6`/`?7`: the pause rule (attempts, microseconds failing), NULL for a transient
            // failure, which never pauses.
            record_failure: format!(
                "UPDATE {status} SET attempts = attempts + 1, last_error = ?4, failed_position = ?5, \
                 failing_since = CASE WHEN ?6 IS NULL THEN failing_since \
                   ELSE coalesce(failing_since, {NOW}) END, \
                 paused = paused OR (?6 IS NOT NULL AND attempts + 1 >= ?6 \
                   AND coalesce(failing_since, {NOW}) <= {NOW} - ?7), \
                 updated_at = {NOW} \
                 WHERE {UNIT} RETURNING attempts, paused"
            ),
            clear_failures: format!(
                "UPDATE {status} SET attempts = 0, last_error = NULL, failed_position = NULL, \
                 failing_since = NULL, updated_at = {NOW} WHERE {UNIT}"
            ),
            status: format!(
                "SELECT a.consumer, a.partitions, a.partition, a.owner, a.epoch, c.position, c.upto, \
                   s.paused, s.attempts, s.last_error, s.failed_position, s.skip_position, \
                   s.failing_since \
                 FROM {assignments} a JOIN {checkpoints} c ON {} JOIN {status} s ON {} ORDER BY 1, 2, 3",
                same_unit("c", "a"),
                same_unit("s", "a")
            ),
            set_paused: format!(
                "UPDATE {status} SET paused = ?3, attempts = CASE WHEN ?3 THEN attempts ELSE 0 END, \
                 failing_since = CASE WHEN ?3 THEN failing_since END, \
                 updated_at = {NOW} WHERE consumer = ?1 AND (?2 IS NULL OR partition = ?2)"
            ),
            skip_failed: format!(
                "UPDATE {status} SET skip_position = failed_position, failed_position = NULL, paused = 0, \
                 attempts = 0, last_error = NULL, failing_since = NULL, updated_at = {NOW} \
                 WHERE consumer = ?1 AND (?2 IS NULL OR partition = ?2) AND paused \
                   AND failed_position IS NOT NULL \
                 RETURNING skip_position"
            ),
            consumer_transition: format!(
                "SELECT previous_partitions FROM {consumers} WHERE name = ?1"
            ),
            reset_checkpoints: format!(
                "UPDATE {checkpoints} SET position = ?2, updated_at = {NOW} WHERE consumer = ?1"
            ),
            reset_status: format!(
                "UPDATE {status} SET attempts = 0, last_error = NULL, failed_position = NULL, \
                 skip_position = NULL, failing_since = NULL, updated_at = {NOW} WHERE consumer = ?1"
            ),
        }
    }
}

//! The coordinator's SQL for SQLite. Times are integer microseconds since the Unix epoch from
//! SQLite's own clock (`NOW`); write transactions are exclusive, so no row locks are needed.

use pupsourcing_migrations::{
    AssignmentStatements, BatchStatements, Dialect, LeadershipStatements, MembershipStatements,
    OperationStatements, Tables,
};

use crate::shared::Shared;

/// The current time in microseconds, from SQLite.
const NOW: &str = "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)";

/// `consumer = ?1 AND partitions = ?2 AND partition = ?3`.
const UNIT: &str = "consumer = ?1 AND partitions = ?2 AND partition = ?3";

#[derive(Debug)]
pub(crate) struct Statements {
    pub(crate) leave: Shared,
    pub(crate) live_nodes: Shared,
    pub(crate) release_lease: Shared,
    pub(crate) consumers: Shared,
    pub(crate) units: Shared,
    pub(crate) create_consumer: Shared,
    pub(crate) start_transition: Shared,
    pub(crate) set_drain_limit: Shared,
    pub(crate) drop_assignments: Shared,
    pub(crate) drop_checkpoints: Shared,
    pub(crate) drop_status: Shared,
    pub(crate) finish_transition: Shared,
    pub(crate) assign: Shared,
    pub(crate) assignments_of: Shared,
    pub(crate) release_units: Shared,
    pub(crate) clear_failures: Shared,
    pub(crate) status: Shared,
    pub(crate) nodes: Shared,
    pub(crate) set_paused: Shared,
    pub(crate) reset_checkpoints: Shared,
    pub(crate) reset_status: Shared,
    pub(crate) heartbeat: String,
    pub(crate) leader: String,
    pub(crate) take_lease: String,
    pub(crate) renew_lease: String,
    pub(crate) lease_valid: String,
    pub(crate) create_assignment: String,
    pub(crate) create_checkpoint: String,
    pub(crate) create_status: String,
    pub(crate) highest_old_checkpoint: String,
    pub(crate) begin_batch: String,
    pub(crate) owned: String,
    pub(crate) move_checkpoint: String,
    pub(crate) settle: String,
    pub(crate) unit_paused: String,
    pub(crate) record_failure: String,
    pub(crate) skip_failed: String,
    pub(crate) consumer_transition: String,
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
        let shared_membership = MembershipStatements::new(Dialect::Sqlite, tables);
        let shared_leadership = LeadershipStatements::new(Dialect::Sqlite, tables);
        let shared_assignments = AssignmentStatements::new(Dialect::Sqlite, tables);
        let shared_batches = BatchStatements::new(Dialect::Sqlite, tables);
        let shared_operations = OperationStatements::new(Dialect::Sqlite, tables);
        Self {
            leave: shared_membership.leave.into(),
            live_nodes: shared_membership.live_nodes.into(),
            release_lease: shared_leadership.release_lease.into(),
            consumers: shared_assignments.consumers.into(),
            units: shared_assignments.units.into(),
            create_consumer: shared_assignments.create_consumer.into(),
            start_transition: shared_assignments.start_transition.into(),
            set_drain_limit: shared_assignments.set_drain_limit.into(),
            drop_assignments: shared_assignments.drop_assignments.into(),
            drop_checkpoints: shared_assignments.drop_checkpoints.into(),
            drop_status: shared_assignments.drop_status.into(),
            finish_transition: shared_assignments.finish_transition.into(),
            assign: shared_assignments.assign.into(),
            assignments_of: shared_assignments.assignments_of.into(),
            release_units: shared_assignments.release_units.into(),
            clear_failures: shared_batches.clear_failures.into(),
            status: shared_operations.status.into(),
            nodes: shared_operations.nodes.into(),
            set_paused: shared_operations.set_paused.into(),
            reset_checkpoints: shared_operations.reset_checkpoints.into(),
            reset_status: shared_operations.reset_status.into(),
            heartbeat: format!(
                "INSERT INTO {nodes} (node_id, consumers, version, started_at, heartbeat_at) \
                 VALUES (?1, ?2, ?3, {NOW}, {NOW}) ON CONFLICT (node_id) DO UPDATE SET \
                 consumers = excluded.consumers, version = excluded.version, heartbeat_at = {NOW}"
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
            lease_valid: format!(
                "SELECT EXISTS (SELECT 1 FROM {leader} WHERE id = 1 AND node_id = ?1 AND epoch = ?2 \
                 AND expires_at > {NOW})"
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
        }
    }
}

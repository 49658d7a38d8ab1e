//! The coordinator's SQL: the shared statements rendered for MySQL, and the ones MySQL needs in
//! its own words (upserts, row locks, several statements where PostgreSQL uses one with CTEs and
//! `RETURNING`). Times come from the server's clock in UTC (`UTC_TIMESTAMP(6)`).

use pupsourcing_migrations::{
    AssignmentStatements, BatchStatements, Dialect, LeadershipStatements, MembershipStatements,
    OperationStatements, Tables,
};

use crate::shared::Shared;

const NOW: &str = "UTC_TIMESTAMP(6)";
const UNIT: &str = "consumer = ? AND partitions = ? AND `partition` = ?";

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
    /// Creates the lease row if it is missing (the first acquisition).
    pub(crate) seed_lease: String,
    /// The lease row, locked: holder, epoch, whether it is still valid.
    pub(crate) lock_lease: String,
    pub(crate) take_lease: String,
    pub(crate) renew_lease: String,
    /// Whether node `?` holds the lease at epoch `?` and it has not expired, locking the row.
    pub(crate) lease_valid: String,
    pub(crate) create_assignment: String,
    pub(crate) create_checkpoint: String,
    pub(crate) create_status: String,
    /// The highest checkpoint of a consumer's units of `?` partitions, locking them.
    pub(crate) lock_old_checkpoints: String,
    /// The unit's checkpoint, drain limit, pause and skip, locking the checkpoint row.
    pub(crate) begin_batch: String,
    /// Whether node `?` owns the unit at epoch `?` (a plain read: a batch must not keep an
    /// assignment change waiting).
    pub(crate) owned: String,
    /// The same, share-locking the assignment until the batch commits.
    pub(crate) owned_locked: String,
    pub(crate) move_checkpoint: String,
    pub(crate) settle: String,
    /// The unit's attempts and pause, locked.
    pub(crate) lock_status: String,
    pub(crate) record_failure: String,
    /// The failing positions of the paused units to skip, locked.
    pub(crate) failing: String,
    pub(crate) skip_failed: String,
    /// The consumer's repartitioning state, locked.
    pub(crate) lock_consumer: String,
}

impl Statements {
    pub(crate) fn new(tables: &Tables) -> Self {
        let table = |name| tables.qualified_in(Dialect::Mysql, name);
        let nodes = table(tables.nodes());
        let leader = table(tables.leader());
        let consumers = table(tables.consumers());
        let assignments = table(tables.assignments());
        let checkpoints = table(tables.checkpoints());
        let status = table(tables.consumer_status());
        let membership = MembershipStatements::new(Dialect::Mysql, tables);
        let leadership = LeadershipStatements::new(Dialect::Mysql, tables);
        let shared_assignments = AssignmentStatements::new(Dialect::Mysql, tables);
        let batches = BatchStatements::new(Dialect::Mysql, tables);
        let operations = OperationStatements::new(Dialect::Mysql, tables);
        let pause = "(? IS NULL OR `partition` = ?)";
        Self {
            leave: membership.leave.into(),
            live_nodes: membership.live_nodes.into(),
            release_lease: leadership.release_lease.into(),
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
            clear_failures: batches.clear_failures.into(),
            status: operations.status.into(),
            nodes: operations.nodes.into(),
            set_paused: operations.set_paused.into(),
            reset_checkpoints: operations.reset_checkpoints.into(),
            reset_status: operations.reset_status.into(),
            heartbeat: format!(
                "INSERT INTO {nodes} (node_id, consumers, version, started_at, heartbeat_at) \
                 VALUES (?, ?, ?, {NOW}, {NOW}) ON DUPLICATE KEY UPDATE \
                 consumers = VALUES(consumers), version = VALUES(version), heartbeat_at = {NOW}"
            ),
            seed_lease: format!(
                "INSERT INTO {leader} (id, node_id, epoch, expires_at) VALUES (1, NULL, 0, {NOW}) \
                 ON DUPLICATE KEY UPDATE id = id"
            ),
            lock_lease: format!(
                "SELECT node_id, epoch, expires_at > {NOW} FROM {leader} WHERE id = 1 FOR UPDATE"
            ),
            take_lease: format!(
                "UPDATE {leader} SET node_id = ?, epoch = ?, \
                 expires_at = {NOW} + INTERVAL ? MICROSECOND WHERE id = 1"
            ),
            renew_lease: format!(
                "UPDATE {leader} SET expires_at = {NOW} + INTERVAL ? MICROSECOND WHERE id = 1"
            ),
            lease_valid: format!(
                "SELECT COUNT(*) FROM {leader} WHERE id = 1 AND node_id = ? AND epoch = ? \
                 AND expires_at > {NOW} FOR UPDATE"
            ),
            create_assignment: format!(
                "INSERT INTO {assignments} (consumer, partitions, `partition`, owner, epoch) \
                 VALUES (?, ?, ?, NULL, 0) ON DUPLICATE KEY UPDATE epoch = epoch"
            ),
            create_checkpoint: format!(
                "INSERT INTO {checkpoints} (consumer, partitions, `partition`, position, updated_at) \
                 VALUES (?, ?, ?, ?, {NOW}) ON DUPLICATE KEY UPDATE position = position"
            ),
            create_status: format!(
                "INSERT INTO {status} (consumer, partitions, `partition`, paused, attempts, updated_at) \
                 VALUES (?, ?, ?, FALSE, 0, {NOW}) ON DUPLICATE KEY UPDATE attempts = attempts"
            ),
            lock_old_checkpoints: format!(
                "SELECT CAST(coalesce(max(position), 0) AS SIGNED) FROM (SELECT position FROM \
                 {checkpoints} WHERE consumer = ? AND partitions = ? FOR UPDATE) AS old"
            ),
            begin_batch: format!(
                "SELECT c.position, c.upto, s.paused, s.skip_position FROM {checkpoints} c \
                 JOIN {status} s ON s.consumer = c.consumer AND s.partitions = c.partitions \
                 AND s.`partition` = c.`partition` \
                 WHERE c.consumer = ? AND c.partitions = ? AND c.`partition` = ? FOR UPDATE"
            ),
            owned: format!(
                "SELECT COUNT(*) FROM {assignments} WHERE {UNIT} AND owner = ? AND epoch = ?"
            ),
            owned_locked: format!(
                "SELECT COUNT(*) FROM {assignments} WHERE {UNIT} AND owner = ? AND epoch = ? \
                 LOCK IN SHARE MODE"
            ),
            move_checkpoint: format!(
                "UPDATE {checkpoints} SET position = ?, updated_at = {NOW} WHERE {UNIT}"
            ),
            settle: format!(
                "UPDATE {status} SET \
                   skip_position = CASE WHEN skip_position <= ? THEN NULL ELSE skip_position END, \
                   attempts = 0, last_error = NULL, failed_position = NULL, failing_since = NULL \
                 WHERE {UNIT} AND (skip_position <= ? OR attempts > 0 OR last_error IS NOT NULL)"
            ),
            lock_status: format!(
                "SELECT attempts, paused, \
                 coalesce(failing_since, {NOW}) <= {NOW} - INTERVAL ? MICROSECOND \
                 FROM {status} WHERE {UNIT} FOR UPDATE"
            ),
            record_failure: format!(
                "UPDATE {status} SET attempts = attempts + 1, last_error = ?, failed_position = ?, \
                 failing_since = CASE WHEN ? THEN coalesce(failing_since, {NOW}) \
                   ELSE failing_since END, \
                 paused = ?, updated_at = {NOW} WHERE {UNIT}"
            ),
            failing: format!(
                "SELECT `partition`, failed_position FROM {status} WHERE consumer = ? AND {pause} \
                 AND paused AND failed_position IS NOT NULL FOR UPDATE"
            ),
            skip_failed: format!(
                "UPDATE {status} SET skip_position = failed_position, failed_position = NULL, \
                 paused = FALSE, attempts = 0, last_error = NULL, failing_since = NULL, \
                 updated_at = {NOW} WHERE consumer = ? AND {pause} AND paused \
                 AND failed_position IS NOT NULL"
            ),
            lock_consumer: format!(
                "SELECT previous_partitions FROM {consumers} WHERE name = ? FOR UPDATE"
            ),
        }
    }
}

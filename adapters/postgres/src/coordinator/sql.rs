//! The coordinator's SQL, rendered once from the table names.

use std::sync::Arc;

use pupsourcing_migrations::{
    AssignmentStatements, BatchStatements, Dialect, LeadershipStatements, MembershipStatements,
    OperationStatements, Tables,
};
use sqlx::{AssertSqlSafe, SqlSafeStr, SqlStr};

use crate::shared::Shared;

fn sql(text: String) -> SqlStr {
    AssertSqlSafe(Arc::<str>::from(text)).into_sql_str()
}

/// `consumer = $1 AND partitions = $2 AND partition = $3` for table alias `t`.
fn unit(t: &str) -> String {
    format!("{t}.consumer = $1 AND {t}.partitions = $2 AND {t}.partition = $3")
}

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
    pub(crate) heartbeat: SqlStr,
    pub(crate) acquire_lease: SqlStr,
    pub(crate) lease_valid: SqlStr,
    pub(crate) create_assignments: SqlStr,
    pub(crate) create_checkpoints: SqlStr,
    pub(crate) create_status: SqlStr,
    pub(crate) lock_old_checkpoints: SqlStr,
    pub(crate) begin_batch: SqlStr,
    pub(crate) commit_batch: SqlStr,
    pub(crate) record_failure: SqlStr,
    pub(crate) skip_failed: SqlStr,
    pub(crate) lock_consumer: SqlStr,
}

impl Statements {
    pub(crate) fn new(tables: &Tables) -> Self {
        let nodes = tables.qualified(tables.nodes());
        let leader = tables.qualified(tables.leader());
        let consumers = tables.qualified(tables.consumers());
        let assignments = tables.qualified(tables.assignments());
        let checkpoints = tables.qualified(tables.checkpoints());
        let status = tables.qualified(tables.consumer_status());
        let (a, c, s) = (unit("a"), unit("c"), unit("s"));
        let same_unit = |x: &str, y: &str| {
            format!(
                "{x}.consumer = {y}.consumer AND {x}.partitions = {y}.partitions AND {x}.partition = {y}.partition"
            )
        };
        let roles_membership = MembershipStatements::new(Dialect::Postgres, tables);
        let roles_leadership = LeadershipStatements::new(Dialect::Postgres, tables);
        let roles_assignments = AssignmentStatements::new(Dialect::Postgres, tables);
        let roles_batches = BatchStatements::new(Dialect::Postgres, tables);
        let roles_operations = OperationStatements::new(Dialect::Postgres, tables);
        Self {
            leave: roles_membership.leave.into(),
            live_nodes: roles_membership.live_nodes.into(),
            release_lease: roles_leadership.release_lease.into(),
            consumers: roles_assignments.consumers.into(),
            units: roles_assignments.units.into(),
            create_consumer: roles_assignments.create_consumer.into(),
            start_transition: roles_assignments.start_transition.into(),
            set_drain_limit: roles_assignments.set_drain_limit.into(),
            drop_assignments: roles_assignments.drop_assignments.into(),
            drop_checkpoints: roles_assignments.drop_checkpoints.into(),
            drop_status: roles_assignments.drop_status.into(),
            finish_transition: roles_assignments.finish_transition.into(),
            assign: roles_assignments.assign.into(),
            assignments_of: roles_assignments.assignments_of.into(),
            release_units: roles_assignments.release_units.into(),
            clear_failures: roles_batches.clear_failures.into(),
            status: roles_operations.status.into(),
            nodes: roles_operations.nodes.into(),
            set_paused: roles_operations.set_paused.into(),
            reset_checkpoints: roles_operations.reset_checkpoints.into(),
            reset_status: roles_operations.reset_status.into(),
            heartbeat: sql(format!(
                "INSERT INTO {nodes} (node_id, consumers, version, started_at, heartbeat_at) \
                 VALUES ($1, $2, $3, now(), now()) \
                 ON CONFLICT (node_id) DO UPDATE SET consumers = EXCLUDED.consumers, \
                 version = EXCLUDED.version, heartbeat_at = now()"
            )),
            acquire_lease: sql(format!(
                "INSERT INTO {leader} AS l (id, node_id, epoch, expires_at) \
                 VALUES (1, $1, 1, now() + make_interval(secs => $2::float8)) \
                 ON CONFLICT (id) DO UPDATE SET \
                   epoch = CASE WHEN l.node_id = EXCLUDED.node_id AND l.expires_at > now() \
                           THEN l.epoch ELSE l.epoch + 1 END, \
                   node_id = EXCLUDED.node_id, expires_at = EXCLUDED.expires_at \
                 WHERE l.node_id = EXCLUDED.node_id OR l.node_id IS NULL OR l.expires_at <= now() \
                 RETURNING epoch"
            )),
            lease_valid: sql(format!(
                "SELECT EXISTS (SELECT 1 FROM {leader} WHERE id = 1 AND node_id = $1 AND epoch = $2 \
                 AND expires_at > clock_timestamp() FOR UPDATE)"
            )),
            create_assignments: sql(format!(
                "INSERT INTO {assignments} (consumer, partitions, partition, owner, epoch) \
                 SELECT $1, $2, p, NULL, 0 FROM generate_series(0, $2 - 1) AS p ON CONFLICT DO NOTHING"
            )),
            create_checkpoints: sql(format!(
                "INSERT INTO {checkpoints} (consumer, partitions, partition, position, updated_at) \
                 SELECT $1, $2, p, $3, now() FROM generate_series(0, $2 - 1) AS p ON CONFLICT DO NOTHING"
            )),
            create_status: sql(format!(
                "INSERT INTO {status} (consumer, partitions, partition, paused, attempts, updated_at) \
                 SELECT $1, $2, p, false, 0, now() FROM generate_series(0, $2 - 1) AS p \
                 ON CONFLICT DO NOTHING"
            )),
            lock_old_checkpoints: sql(format!(
                "SELECT coalesce(max(position), 0) FROM (SELECT position FROM {checkpoints} \
                 WHERE consumer = $1 AND partitions = $2 FOR UPDATE) AS old"
            )),
            begin_batch: sql(format!(
                "SELECT c.position, c.upto, s.paused, s.skip_position, \
                   EXISTS (SELECT 1 FROM {assignments} a WHERE {a} AND a.owner = $4 AND a.epoch = $5) \
                 FROM {checkpoints} c JOIN {status} s ON {} \
                 WHERE {c} FOR UPDATE OF c",
                same_unit("s", "c")
            )),
            commit_batch: sql(format!(
                "WITH owned AS (SELECT 1 FROM {assignments} a WHERE {a} AND a.owner = $4 AND a.epoch = $5 \
                     FOR SHARE), \
                 moved AS (UPDATE {checkpoints} c SET position = $6, updated_at = now() \
                     WHERE {c} AND EXISTS (SELECT 1 FROM owned) RETURNING 1), \
                 settled AS (UPDATE {status} s SET \
                     skip_position = CASE WHEN s.skip_position <= $6 THEN NULL ELSE s.skip_position END, \
                     attempts = 0, last_error = NULL, failed_position = NULL, failing_since = NULL \
                     WHERE {s} AND (s.skip_position <= $6 OR s.attempts > 0 OR s.last_error IS NOT NULL) \
                     AND EXISTS (SELECT 1 FROM moved)) \
                 SELECT count(*) FROM moved"
            )),
            // `$6`/`$7`: the pause rule (attempts, seconds failing), NULL for a transient failure.
            // `was` is the row before the update: the pause happens once, on the failure that
            // meets both thresholds.
            record_failure: sql(format!(
                "WITH was AS (SELECT s.paused FROM {status} s WHERE {s} FOR UPDATE) \
                 UPDATE {status} s SET attempts = s.attempts + 1, last_error = $4, \
                   failed_position = $5, \
                   failing_since = CASE WHEN $6::int IS NULL THEN s.failing_since \
                     ELSE coalesce(s.failing_since, now()) END, \
                   paused = s.paused OR ($6::int IS NOT NULL AND s.attempts + 1 >= $6 \
                     AND coalesce(s.failing_since, now()) <= now() - make_interval(secs => $7::float8)), \
                   updated_at = now() \
                 FROM was WHERE {s} RETURNING s.attempts, s.paused AND NOT was.paused"
            )),
            skip_failed: sql(format!(
                "UPDATE {status} SET skip_position = failed_position, failed_position = NULL, \
                   paused = false, attempts = 0, last_error = NULL, failing_since = NULL, \
                   updated_at = now() \
                 WHERE consumer = $1 AND ($2::int IS NULL OR partition = $2) AND paused \
                   AND failed_position IS NOT NULL RETURNING skip_position"
            )),
            lock_consumer: sql(format!(
                "SELECT previous_partitions FROM {consumers} WHERE name = $1 FOR UPDATE"
            )),
        }
    }
}

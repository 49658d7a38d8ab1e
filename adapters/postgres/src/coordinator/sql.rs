//! The coordinator's SQL, rendered once from the table names.

use std::sync::Arc;

use pupsourcing_migrations::Tables;
use sqlx::{AssertSqlSafe, SqlSafeStr, SqlStr};

fn sql(text: String) -> SqlStr {
    AssertSqlSafe(Arc::<str>::from(text)).into_sql_str()
}

/// `consumer = $1 AND partitions = $2 AND partition = $3` for table alias `t`.
fn unit(t: &str) -> String {
    format!("{t}.consumer = $1 AND {t}.partitions = $2 AND {t}.partition = $3")
}

#[derive(Debug)]
pub(crate) struct Statements {
    pub(crate) heartbeat: SqlStr,
    pub(crate) leave: SqlStr,
    pub(crate) live_nodes: SqlStr,
    pub(crate) acquire_lease: SqlStr,
    pub(crate) release_lease: SqlStr,
    pub(crate) consumers: SqlStr,
    pub(crate) units: SqlStr,
    pub(crate) lease_valid: SqlStr,
    pub(crate) create_consumer: SqlStr,
    pub(crate) create_assignments: SqlStr,
    pub(crate) create_checkpoints: SqlStr,
    pub(crate) create_status: SqlStr,
    pub(crate) lock_old_checkpoints: SqlStr,
    pub(crate) start_transition: SqlStr,
    pub(crate) set_drain_limit: SqlStr,
    pub(crate) drop_assignments: SqlStr,
    pub(crate) drop_checkpoints: SqlStr,
    pub(crate) drop_status: SqlStr,
    pub(crate) finish_transition: SqlStr,
    pub(crate) assign: SqlStr,
    pub(crate) assignments_of: SqlStr,
    pub(crate) release_units: SqlStr,
    pub(crate) begin_batch: SqlStr,
    pub(crate) commit_batch: SqlStr,
    pub(crate) record_failure: SqlStr,
    pub(crate) clear_failures: SqlStr,
    pub(crate) status: SqlStr,
    pub(crate) set_paused: SqlStr,
    pub(crate) skip_failed: SqlStr,
    pub(crate) lock_consumer: SqlStr,
    pub(crate) reset_checkpoints: SqlStr,
    pub(crate) reset_status: SqlStr,
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
        let join = format!(
            "{assignments} a JOIN {checkpoints} c ON {} JOIN {status} s ON {}",
            same_unit("c", "a"),
            same_unit("s", "a")
        );
        Self {
            heartbeat: sql(format!(
                "INSERT INTO {nodes} (node_id, consumers, version, started_at, heartbeat_at) \
                 VALUES ($1, $2, $3, now(), now()) \
                 ON CONFLICT (node_id) DO UPDATE SET consumers = EXCLUDED.consumers, \
                 version = EXCLUDED.version, heartbeat_at = now()"
            )),
            leave: sql(format!("DELETE FROM {nodes} WHERE node_id = $1")),
            live_nodes: sql(format!(
                "SELECT node_id, consumers, version, started_at FROM {nodes} \
                 WHERE heartbeat_at > now() - make_interval(secs => $1::float8) ORDER BY node_id"
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
            release_lease: sql(format!(
                "UPDATE {leader} SET node_id = NULL, expires_at = now() \
                 WHERE id = 1 AND node_id = $1 AND epoch = $2"
            )),
            consumers: sql(format!(
                "SELECT name, partitions, previous_partitions, drain_position FROM {consumers} ORDER BY name"
            )),
            units: sql(format!(
                "SELECT a.consumer, a.partitions, a.partition, a.owner, a.epoch, c.position \
                 FROM {assignments} a JOIN {checkpoints} c ON {} ORDER BY 1, 2, 3",
                same_unit("c", "a")
            )),
            lease_valid: sql(format!(
                "SELECT EXISTS (SELECT 1 FROM {leader} WHERE id = 1 AND node_id = $1 AND epoch = $2 \
                 AND expires_at > clock_timestamp() FOR UPDATE)"
            )),
            create_consumer: sql(format!(
                "INSERT INTO {consumers} (name, partitions, updated_at) VALUES ($1, $2, now()) \
                 ON CONFLICT (name) DO NOTHING"
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
            start_transition: sql(format!(
                "UPDATE {consumers} SET partitions = $2, previous_partitions = $3, drain_position = $4, \
                 updated_at = now() WHERE name = $1 AND previous_partitions IS NULL"
            )),
            set_drain_limit: sql(format!(
                "UPDATE {checkpoints} SET upto = $3 WHERE consumer = $1 AND partitions = $2"
            )),
            drop_assignments: sql(format!(
                "DELETE FROM {assignments} WHERE consumer = $1 AND partitions = $2"
            )),
            drop_checkpoints: sql(format!(
                "DELETE FROM {checkpoints} WHERE consumer = $1 AND partitions = $2"
            )),
            drop_status: sql(format!(
                "DELETE FROM {status} WHERE consumer = $1 AND partitions = $2"
            )),
            finish_transition: sql(format!(
                "UPDATE {consumers} SET previous_partitions = NULL, drain_position = NULL, \
                 updated_at = now() WHERE name = $1"
            )),
            assign: sql(format!(
                "UPDATE {assignments} a SET owner = $4, epoch = epoch + 1 WHERE {a}"
            )),
            assignments_of: sql(format!(
                "SELECT consumer, partitions, partition, epoch FROM {assignments} WHERE owner = $1"
            )),
            release_units: sql(format!(
                "UPDATE {assignments} SET owner = NULL, epoch = epoch + 1 WHERE owner = $1"
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
            clear_failures: sql(format!(
                "UPDATE {status} s SET attempts = 0, last_error = NULL, failed_position = NULL, \
                 failing_since = NULL, updated_at = now() WHERE {s}"
            )),
            status: sql(format!(
                "SELECT a.consumer, a.partitions, a.partition, a.owner, a.epoch, c.position, c.upto, \
                   s.paused, s.attempts, s.last_error, s.failed_position, s.skip_position, \
                   s.failing_since \
                 FROM {join} ORDER BY 1, 2, 3"
            )),
            set_paused: sql(format!(
                "UPDATE {status} SET paused = $3, \
                   attempts = CASE WHEN $3 THEN attempts ELSE 0 END, \
                   failing_since = CASE WHEN $3 THEN failing_since END, updated_at = now() \
                 WHERE consumer = $1 AND ($2::int IS NULL OR partition = $2)"
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
            reset_checkpoints: sql(format!(
                "UPDATE {checkpoints} SET position = $2, updated_at = now() WHERE consumer = $1"
            )),
            reset_status: sql(format!(
                "UPDATE {status} SET attempts = 0, last_error = NULL, failed_position = NULL, \
                   skip_position = NULL, failing_since = NULL, updated_at = now() WHERE consumer = $1"
            )),
        }
    }
}

//! The snapshot store's SQL, rendered once from the table names.

use std::sync::Arc;

use pupsourcing_migrations::Tables;
use sqlx::{AssertSqlSafe, SqlSafeStr, SqlStr};

fn sql(text: String) -> SqlStr {
    AssertSqlSafe(Arc::<str>::from(text)).into_sql_str()
}

const STREAM: &str = "bounded_context = $1 AND aggregate_type = $2 AND aggregate_id = $3";

#[derive(Debug)]
pub(crate) struct Statements {
    pub(crate) save: SqlStr,
    pub(crate) latest: SqlStr,
    pub(crate) delete_stream: SqlStr,
    pub(crate) delete_aggregate_type: SqlStr,
    pub(crate) stats: SqlStr,
}

impl Statements {
    pub(crate) fn new(tables: &Tables) -> Self {
        let snapshots = tables.qualified(tables.snapshots());
        Self {
            save: sql(format!(
                "INSERT INTO {snapshots} (bounded_context, aggregate_type, aggregate_id, \
                 stream_version, state_version, state, taken_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (bounded_context, aggregate_type, aggregate_id, stream_version) \
                 DO UPDATE SET state_version = excluded.state_version, state = excluded.state, \
                 taken_at = excluded.taken_at"
            )),
            latest: sql(format!(
                "SELECT stream_version, state_version, state, taken_at FROM {snapshots} \
                 WHERE {STREAM} AND stream_version <= $4 ORDER BY stream_version DESC LIMIT 1"
            )),
            delete_stream: sql(format!("DELETE FROM {snapshots} WHERE {STREAM}")),
            delete_aggregate_type: sql(format!(
                "DELETE FROM {snapshots} WHERE aggregate_type = $1"
            )),
            stats: sql(format!(
                "SELECT count(*), coalesce(sum(octet_length(state)), 0)::bigint FROM {snapshots} \
                 WHERE aggregate_type = $1"
            )),
        }
    }
}

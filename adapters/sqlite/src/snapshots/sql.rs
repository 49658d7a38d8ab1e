//! The snapshot store's SQL for SQLite. Times are integer microseconds since the Unix epoch.

use pupsourcing_migrations::Tables;

const STREAM: &str = "bounded_context = ?1 AND aggregate_type = ?2 AND aggregate_id = ?3";

#[derive(Debug)]
pub(crate) struct Statements {
    pub(crate) save: String,
    pub(crate) latest: String,
    pub(crate) delete_stream: String,
    pub(crate) delete_aggregate_type: String,
    pub(crate) stats: String,
}

impl Statements {
    pub(crate) fn new(tables: &Tables) -> Self {
        let snapshots = tables.qualified(tables.snapshots());
        Self {
            save: format!(
                "INSERT INTO {snapshots} (bounded_context, aggregate_type, aggregate_id, \
                 stream_version, state_version, state, taken_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                 ON CONFLICT (bounded_context, aggregate_type, aggregate_id, stream_version) \
                 DO UPDATE SET state_version = excluded.state_version, state = excluded.state, \
                 taken_at = excluded.taken_at"
            ),
            latest: format!(
                "SELECT stream_version, state_version, state, taken_at FROM {snapshots} \
                 WHERE {STREAM} AND stream_version <= ?4 ORDER BY stream_version DESC LIMIT 1"
            ),
            delete_stream: format!("DELETE FROM {snapshots} WHERE {STREAM}"),
            delete_aggregate_type: format!("DELETE FROM {snapshots} WHERE aggregate_type = ?1"),
            stats: format!(
                "SELECT count(*), coalesce(sum(length(state)), 0) FROM {snapshots} \
                 WHERE aggregate_type = ?1"
            ),
        }
    }
}

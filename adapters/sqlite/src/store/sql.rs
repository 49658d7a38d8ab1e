//! The store's SQL, rendered once per store from its table names.

use pupsourcing_migrations::{Tables, event_column_list};

#[derive(Debug)]
pub(crate) struct Statements {
    pub(crate) event_id_exists: String,
    pub(crate) stream_version: String,
    pub(crate) insert_event: String,
    pub(crate) upsert_head: String,
    pub(crate) read_stream: String,
    pub(crate) read_events: String,
    pub(crate) latest_position: String,
}

impl Statements {
    pub(crate) fn new(tables: &Tables) -> Self {
        let events = tables.qualified(tables.events());
        let heads = tables.qualified(tables.stream_heads());
        let columns = event_column_list();
        Self {
            event_id_exists: format!("SELECT EXISTS (SELECT 1 FROM {events} WHERE event_id = ?1)"),
            stream_version: format!(
                "SELECT version FROM {heads} WHERE bounded_context = ?1 AND aggregate_type = ?2 \
                 AND aggregate_id = ?3"
            ),
            insert_event: format!(
                "INSERT INTO {events} (bounded_context, aggregate_type, aggregate_id, \
                 aggregate_version, event_id, event_type, event_version, payload, metadata, \
                 created_at, trace_id, correlation_id, causation_id, stream_hash) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
            ),
            upsert_head: format!(
                "INSERT INTO {heads} (bounded_context, aggregate_type, aggregate_id, version) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (bounded_context, aggregate_type, aggregate_id) \
                 DO UPDATE SET version = excluded.version"
            ),
            read_stream: format!(
                "SELECT {columns} FROM {events} WHERE bounded_context = ?1 \
                 AND aggregate_type = ?2 AND aggregate_id = ?3 \
                 AND aggregate_version BETWEEN ?4 AND ?5 ORDER BY aggregate_version"
            ),
            read_events: format!(
                "SELECT {columns} FROM {events} WHERE global_position > ?1 \
                 ORDER BY global_position LIMIT ?2"
            ),
            latest_position: format!("SELECT coalesce(max(global_position), 0) FROM {events}"),
        }
    }
}

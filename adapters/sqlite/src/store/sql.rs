//! The store's SQL, rendered once per store from its table names.

use pupsourcing_migrations::{Dialect, EventStatements, Tables};

use crate::shared::Shared;

#[derive(Debug)]
pub(crate) struct Statements {
    pub(crate) event_id_exists: String,
    pub(crate) stream_version: Shared,
    pub(crate) insert_event: String,
    pub(crate) upsert_head: String,
    pub(crate) read_stream: Shared,
    pub(crate) read_events: Shared,
    pub(crate) latest_position: Shared,
}

impl Statements {
    pub(crate) fn new(tables: &Tables) -> Self {
        let events = tables.qualified(tables.events());
        let heads = tables.qualified(tables.stream_heads());
        let reads = EventStatements::new(Dialect::Sqlite, tables);
        Self {
            event_id_exists: format!("SELECT EXISTS (SELECT 1 FROM {events} WHERE event_id = ?1)"),
            stream_version: reads.stream_version.into(),
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
            read_stream: reads.read_stream.into(),
            read_events: reads.read_events.into(),
            latest_position: reads.latest_position.into(),
        }
    }
}

//! The store's SQL for MySQL: the shared reads, and the hand-written append statements (heads
//! first, so every appender owns an InnoDB transaction id before it draws a position).

use pupsourcing_migrations::{Dialect, EventStatements, Tables, event_column_list};

use crate::shared::Shared;

const STREAM: &str = "bounded_context = ? AND aggregate_type = ? AND aggregate_id = ?";

#[derive(Debug)]
pub(crate) struct Statements {
    events: String,
    columns: String,
    /// Creates a stream's head (`NoStream`); a duplicate key means the stream exists.
    pub(crate) create_head: String,
    /// Moves a head from the expected version (`Exact`).
    pub(crate) move_head: String,
    /// Creates or moves a head (`Any`).
    pub(crate) upsert_head: String,
    /// The head's version.
    pub(crate) head_version: String,
    pub(crate) read_stream: Shared,
    pub(crate) stream_version: Shared,
    pub(crate) read_events: Shared,
    pub(crate) latest_position: Shared,
}

impl Statements {
    pub(crate) fn new(tables: &Tables) -> Self {
        let events = tables.qualified_in(Dialect::Mysql, tables.events());
        let heads = tables.qualified_in(Dialect::Mysql, tables.stream_heads());
        let reads = EventStatements::new(Dialect::Mysql, tables);
        Self {
            columns: event_column_list(),
            create_head: format!(
                "INSERT INTO {heads} (bounded_context, aggregate_type, aggregate_id, version) \
                 VALUES (?, ?, ?, ?)"
            ),
            move_head: format!(
                "UPDATE {heads} SET version = version + ? WHERE {STREAM} AND version = ?"
            ),
            upsert_head: format!(
                "INSERT INTO {heads} (bounded_context, aggregate_type, aggregate_id, version) \
                 VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE version = version + VALUES(version)"
            ),
            head_version: format!("SELECT version FROM {heads} WHERE {STREAM}"),
            events,
            read_stream: reads.read_stream.into(),
            stream_version: reads.stream_version.into(),
            read_events: reads.read_events.into(),
            latest_position: reads.latest_position.into(),
        }
    }

    /// Inserts `rows` events and returns their positions (MariaDB's `INSERT … RETURNING`).
    pub(crate) fn insert_events(&self, rows: usize) -> String {
        let row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        let values = vec![row; rows].join(", ");
        format!(
            "INSERT INTO {} (bounded_context, aggregate_type, aggregate_id, aggregate_version, \
             stream_hash, event_id, event_type, event_version, payload, metadata, created_at, \
             trace_id, correlation_id, causation_id) VALUES {values} RETURNING global_position",
            self.events
        )
    }

    /// Which of `count` event ids exist.
    pub(crate) fn existing_ids(&self, count: usize) -> String {
        let marks = vec!["?"; count].join(", ");
        format!("SELECT event_id FROM {} WHERE event_id IN ({marks})", self.events)
    }

    /// The select list of event rows.
    pub(crate) fn columns(&self) -> &str {
        &self.columns
    }
}

//! The store's SQL for MySQL: the shared reads, and the hand-written append statements (heads
//! first, so every appender owns an InnoDB transaction id before it draws a position).

use pupsourcing_migrations::{Dialect, EventStatements, Tables};

use crate::shared::Shared;

const STREAM: &str = "bounded_context = ? AND aggregate_type = ? AND aggregate_id = ?";

#[derive(Debug)]
pub(crate) struct Statements {
    events: String,
    /// Creates a stream's head (`NoStream`); a duplicate key means the stream exists.
    pub(crate) create_head: String,
    /// Moves a head from the expected version (`Exact`).
    pub(crate) move_head: String,
    /// Creates or moves a head (`Any`); a moved head's new version comes back through
    /// `LAST_INSERT_ID`, so no second statement reads it.
    pub(crate) upsert_head: String,
    /// The head's version.
    pub(crate) head_version: String,
    /// Undoes this transaction's head creation or move after a failed insert (InnoDB rolls back
    /// only the failed statement, and the transaction stays usable).
    pub(crate) drop_head: String,
    pub(crate) unmove_head: String,
    /// Returns `?` drawn positions to the counter after a failed insert.
    pub(crate) undraw_positions: String,
    /// Draws `?` positions from the counter row (returned through `LAST_INSERT_ID`), locking it
    /// until commit: the serialized gap strategy.
    pub(crate) draw_positions: String,
    pub(crate) read_stream: Shared,
    pub(crate) stream_version: Shared,
    pub(crate) read_events: Shared,
    pub(crate) latest_position: Shared,
    pub(crate) frontier: FrontierStatements,
}

/// The frontier's statements.
#[derive(Debug)]
pub(crate) struct FrontierStatements {
    /// The named lock one advancer holds (per database: lock names are server-wide).
    pub(crate) lock_name: String,
    pub(crate) read: String,
    pub(crate) latest: String,
    /// Positions in `(?, ?]`, at most `?`, ascending (index only).
    pub(crate) window: String,
    /// Known runs ending above `?`: start, end, fence, age in microseconds, resolution.
    pub(crate) holes: String,
    /// Writes the frontier row, which gives the advance its transaction id.
    pub(crate) touch: String,
    /// The active transactions, with `{nonce}` to replace.
    pub(crate) transactions: String,
    pub(crate) record_hole: String,
    pub(crate) resolve_hole: String,
    /// Drops resolved, unforced runs older than `?` microseconds.
    pub(crate) forget_holes: String,
    pub(crate) write: String,
    /// Moves the frontier to the highest committed position (the counter strategy: positions
    /// commit in order).
    pub(crate) write_latest: String,
    /// The oldest active transaction: connection, age in microseconds, statement.
    pub(crate) oldest_transaction: String,
}

impl FrontierStatements {
    fn new(tables: &Tables) -> Self {
        let events = tables.qualified_in(Dialect::Mysql, tables.events());
        let frontier = tables.qualified_in(Dialect::Mysql, tables.frontier());
        let holes = tables.qualified_in(Dialect::Mysql, tables.holes());
        Self {
            lock_name: format!("pupsourcing_frontier_{:016x}", tables.lock_key("frontier")),
            read: format!("SELECT safe_position FROM {frontier} WHERE id = 1"),
            latest: format!("SELECT coalesce(max(global_position), 0) FROM {events}"),
            window: format!(
                "SELECT global_position FROM {events} WHERE global_position > ? \
                 AND global_position <= ? ORDER BY global_position LIMIT ?"
            ),
            holes: format!(
                "SELECT start_position, end_position, first_seen_xid, \
                 TIMESTAMPDIFF(MICROSECOND, first_seen_at, UTC_TIMESTAMP(6)), resolution \
                 FROM {holes} WHERE end_position > ? ORDER BY start_position"
            ),
            touch: format!("UPDATE {frontier} SET updated_at = UTC_TIMESTAMP(6) WHERE id = 1"),
            transactions:
                "SELECT CAST(trx_id AS UNSIGNED), CAST(trx_mysql_thread_id AS UNSIGNED), \
                 CAST(trx_query AS CHAR), CAST(CONNECTION_ID() AS UNSIGNED), '{nonce}' \
                 FROM information_schema.INNODB_TRX"
                    .to_owned(),
            record_hole: format!(
                "INSERT INTO {holes} (start_position, end_position, first_seen_xid, first_seen_at) \
                 VALUES (?, ?, ?, UTC_TIMESTAMP(6)) \
                 ON DUPLICATE KEY UPDATE start_position = start_position"
            ),
            resolve_hole: format!(
                "UPDATE {holes} SET resolution = ?, resolved_at = UTC_TIMESTAMP(6) \
                 WHERE start_position = ? AND resolution IS NULL"
            ),
            forget_holes: format!(
                "DELETE FROM {holes} WHERE resolution IN ('filled', 'dead') \
                 AND resolved_at < UTC_TIMESTAMP(6) - INTERVAL ? MICROSECOND"
            ),
            write: format!(
                "UPDATE {frontier} SET safe_position = GREATEST(safe_position, ?), \
                 updated_at = UTC_TIMESTAMP(6) WHERE id = 1"
            ),
            write_latest: format!(
                "UPDATE {frontier} SET safe_position = GREATEST(safe_position, \
                 (SELECT coalesce(max(global_position), 0) FROM {events})), \
                 updated_at = UTC_TIMESTAMP(6) WHERE id = 1"
            ),
            oldest_transaction: "SELECT CAST(trx_mysql_thread_id AS UNSIGNED), \
                 TIMESTAMPDIFF(MICROSECOND, trx_started, NOW(6)), CAST(trx_query AS CHAR) \
                 FROM information_schema.INNODB_TRX ORDER BY trx_started LIMIT 1"
                .to_owned(),
        }
    }
}

impl Statements {
    pub(crate) fn new(tables: &Tables) -> Self {
        let events = tables.qualified_in(Dialect::Mysql, tables.events());
        let heads = tables.qualified_in(Dialect::Mysql, tables.stream_heads());
        let reads = EventStatements::new(Dialect::Mysql, tables);
        Self {
            create_head: format!(
                "INSERT INTO {heads} (bounded_context, aggregate_type, aggregate_id, version) \
                 VALUES (?, ?, ?, ?)"
            ),
            move_head: format!(
                "UPDATE {heads} SET version = version + ? WHERE {STREAM} AND version = ?"
            ),
            upsert_head: format!(
                "INSERT INTO {heads} (bounded_context, aggregate_type, aggregate_id, version) \
                 VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE version = LAST_INSERT_ID(version + VALUES(version))"
            ),
            head_version: format!("SELECT version FROM {heads} WHERE {STREAM}"),
            drop_head: format!("DELETE FROM {heads} WHERE {STREAM}"),
            unmove_head: format!("UPDATE {heads} SET version = version - ? WHERE {STREAM}"),
            undraw_positions: format!(
                "UPDATE {} SET last_position = last_position - ? WHERE id = 1",
                tables.qualified_in(Dialect::Mysql, &tables.position_counter())
            ),
            draw_positions: format!(
                "UPDATE {} SET last_position = LAST_INSERT_ID(last_position + ?) WHERE id = 1",
                tables.qualified_in(Dialect::Mysql, &tables.position_counter())
            ),
            events,
            read_stream: reads.read_stream.into(),
            stream_version: reads.stream_version.into(),
            read_events: reads.read_events.into(),
            latest_position: reads.latest_position.into(),
            frontier: FrontierStatements::new(tables),
        }
    }

    /// Inserts `rows` events, returning their positions when `returning` (MariaDB's
    /// `INSERT … RETURNING`).
    pub(crate) fn insert_events(&self, rows: usize, returning: bool) -> String {
        let row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        let values = vec![row; rows].join(", ");
        format!(
            "INSERT INTO {} (bounded_context, aggregate_type, aggregate_id, aggregate_version, \
             stream_hash, event_id, event_type, event_version, payload, metadata, created_at, \
             trace_id, correlation_id, causation_id) VALUES {values}{}",
            self.events,
            if returning { " RETURNING global_position" } else { "" }
        )
    }

    /// Inserts `rows` events at positions the caller drew (the counter strategy).
    pub(crate) fn insert_events_at(&self, rows: usize) -> String {
        let row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        let values = vec![row; rows].join(", ");
        format!(
            "INSERT INTO {} (bounded_context, aggregate_type, aggregate_id, aggregate_version, \
             stream_hash, event_id, event_type, event_version, payload, metadata, created_at, \
             trace_id, correlation_id, causation_id, global_position) VALUES {values}",
            self.events
        )
    }

    /// Which of `count` event ids exist.
    pub(crate) fn existing_ids(&self, count: usize) -> String {
        let marks = vec!["?"; count].join(", ");
        format!("SELECT event_id FROM {} WHERE event_id IN ({marks})", self.events)
    }
}

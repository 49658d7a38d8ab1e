//! The store's SQL, rendered once per store from its table names.
//!
//! Hot statements are fixed strings so that sqlx prepares each once per connection and reuses it.

use std::sync::Arc;

use pupsourcing::ExpectedVersion;
use pupsourcing_migrations::Tables;
use sqlx::{AssertSqlSafe, SqlSafeStr, SqlStr};

/// Columns of an event row, in the order [`crate::store::read::decode`] reads them.
pub(crate) const EVENT_COLUMNS: &str = "global_position, aggregate_version, bounded_context, \
     aggregate_type, aggregate_id, event_id, event_type, event_version, payload, metadata, \
     created_at, trace_id, correlation_id, causation_id";

#[derive(Debug)]
pub(crate) struct Statements {
    append_no_stream: SqlStr,
    append_exact: SqlStr,
    append_any: SqlStr,
    pub(crate) conflict_probe: SqlStr,
    pub(crate) read_stream: SqlStr,
    pub(crate) stream_version: SqlStr,
    pub(crate) read_events: SqlStr,
    pub(crate) latest_position: SqlStr,
}

/// Statement text whose only dynamic parts are validated, quoted identifiers.
fn sql(text: String) -> SqlStr {
    AssertSqlSafe(Arc::<str>::from(text)).into_sql_str()
}

impl Statements {
    pub(crate) fn new(tables: &Tables, notify_channel: Option<&str>) -> Self {
        let events = tables.qualified(tables.events());
        let heads = tables.qualified(tables.stream_heads());
        let append = |head: String| sql(append_statement(&events, &head, notify_channel));
        Self {
            append_no_stream: append(format!(
                "INSERT INTO {heads} (bounded_context, aggregate_type, aggregate_id, version) \
                 SELECT $1::text, $2::text, $3::text, $4::bigint WHERE NOT EXISTS (SELECT 1 FROM dup) \
                 ON CONFLICT DO NOTHING RETURNING version"
            )),
            append_exact: append(format!(
                "UPDATE {heads} SET version = version + $4::bigint \
                 WHERE bounded_context = $1 AND aggregate_type = $2 AND aggregate_id = $3 \
                 AND version = $14::bigint AND NOT EXISTS (SELECT 1 FROM dup) RETURNING version"
            )),
            append_any: append(format!(
                "INSERT INTO {heads} AS h (bounded_context, aggregate_type, aggregate_id, version) \
                 SELECT $1::text, $2::text, $3::text, $4::bigint WHERE NOT EXISTS (SELECT 1 FROM dup) \
                 ON CONFLICT (bounded_context, aggregate_type, aggregate_id) \
                 DO UPDATE SET version = h.version + EXCLUDED.version RETURNING version"
            )),
            conflict_probe: sql(format!(
                "SELECT coalesce((SELECT version FROM {heads} WHERE bounded_context = $1 \
                 AND aggregate_type = $2 AND aggregate_id = $3), 0), \
                 ARRAY(SELECT event_id FROM {events} WHERE event_id = ANY($4))"
            )),
            read_stream: sql(format!(
                "SELECT {EVENT_COLUMNS} FROM {events} WHERE bounded_context = $1 \
                 AND aggregate_type = $2 AND aggregate_id = $3 \
                 AND aggregate_version BETWEEN $4 AND $5 ORDER BY aggregate_version"
            )),
            stream_version: sql(format!(
                "SELECT version FROM {heads} WHERE bounded_context = $1 \
                 AND aggregate_type = $2 AND aggregate_id = $3"
            )),
            read_events: sql(format!(
                "SELECT {EVENT_COLUMNS} FROM {events} WHERE global_position > $1 \
                 ORDER BY global_position LIMIT $2"
            )),
            latest_position: sql(format!(
                "SELECT coalesce(max(global_position), 0) FROM {events}"
            )),
        }
    }

    pub(crate) fn append(&self, expected: ExpectedVersion) -> SqlStr {
        match expected {
            ExpectedVersion::NoStream | ExpectedVersion::Exact(0) => self.append_no_stream.clone(),
            ExpectedVersion::Exact(_) => self.append_exact.clone(),
            ExpectedVersion::Any => self.append_any.clone(),
        }
    }
}

/// One round trip per append: a duplicate-id probe, the stream-head write that enforces the
/// expected version (it returns no row on conflict, and nothing else happens), and the multi-row
/// insert fed by arrays. `$1..$3` are the stream, `$4` the batch size, `$5..$13` the event arrays
/// and `$14` the expected version (only for `Exact`).
fn append_statement(events: &str, head: &str, notify_channel: Option<&str>) -> String {
    let (notify_cte, notify_column) = match notify_channel {
        Some(channel) => (
            format!(
                ", notified AS (SELECT pg_notify('{channel}', max(global_position)::text) \
                 FROM ins HAVING count(*) > 0)"
            ),
            ", (SELECT count(*) FROM notified)",
        ),
        None => (String::new(), ""),
    };
    format!(
        "WITH dup AS (SELECT event_id FROM {events} WHERE event_id = ANY($5)), \
         head AS ({head}), \
         ins AS (INSERT INTO {events} (bounded_context, aggregate_type, aggregate_id, \
             aggregate_version, event_id, event_type, event_version, payload, metadata, \
             created_at, trace_id, correlation_id, causation_id) \
           SELECT $1, $2, $3, head.version - $4 + e.ord, e.event_id, e.event_type, \
             e.event_version, e.payload, e.metadata, e.created_at, e.trace_id, \
             e.correlation_id, e.causation_id \
           FROM head, unnest($5::uuid[], $6::text[], $7::int4[], $8::bytea[], $9::jsonb[], \
             $10::timestamptz[], $11::text[], $12::text[], $13::text[]) WITH ORDINALITY \
             AS e(event_id, event_type, event_version, payload, metadata, created_at, \
             trace_id, correlation_id, causation_id, ord) \
           ORDER BY e.ord \
           RETURNING global_position, aggregate_version){notify_cte} \
         SELECT (SELECT version FROM head), ARRAY(SELECT event_id FROM dup), \
           ARRAY(SELECT global_position FROM ins ORDER BY aggregate_version){notify_column}"
    )
}

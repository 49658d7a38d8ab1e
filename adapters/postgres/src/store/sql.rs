//! The store's SQL, rendered once per store from its table names.
//!
//! Hot statements are fixed strings so that sqlx prepares each once per connection and reuses it.

use std::sync::Arc;

use pupsourcing::ExpectedVersion;
use pupsourcing_migrations::{Dialect, EventStatements, Tables};
use sqlx::{AssertSqlSafe, SqlSafeStr, SqlStr};

use crate::shared::Shared;

#[derive(Debug)]
pub(crate) struct Statements {
    appends: Appends,
    pub(crate) conflict_probe: SqlStr,
    pub(crate) read_stream: Shared,
    pub(crate) stream_version: Shared,
    pub(crate) read_events: Shared,
    pub(crate) latest_position: Shared,
    pub(crate) safe_frontier: SqlStr,
    pub(crate) frontier_lock: SqlStr,
    pub(crate) frontier_read: SqlStr,
    pub(crate) frontier_write: SqlStr,
    pub(crate) frontier_own_xid: SqlStr,
    pub(crate) frontier_status: SqlStr,
    pub(crate) oldest_transaction: SqlStr,
}

/// Statement text whose only dynamic parts are validated, quoted identifiers.
fn sql(text: String) -> SqlStr {
    AssertSqlSafe(Arc::<str>::from(text)).into_sql_str()
}

impl Statements {
    pub(crate) fn new(tables: &Tables) -> Self {
        let events = tables.qualified(tables.events());
        let heads = tables.qualified(tables.stream_heads());
        let frontier = tables.qualified(tables.frontier());
        let holes = tables.qualified(tables.holes());
        let no_stream = |ids: &str| {
            format!(
                "INSERT INTO {heads} (bounded_context, aggregate_type, aggregate_id, version) \
                 SELECT $1::text, $2::text, $3::text, $4::bigint \
                 WHERE NOT EXISTS (SELECT 1 FROM {events} WHERE event_id {ids}) \
                 ON CONFLICT DO NOTHING RETURNING version"
            )
        };
        let exact = |ids: &str| {
            format!(
                "UPDATE {heads} SET version = version + $4::bigint \
                 WHERE bounded_context = $1 AND aggregate_type = $2 AND aggregate_id = $3 \
                 AND version = $15::bigint \
                 AND NOT EXISTS (SELECT 1 FROM {events} WHERE event_id {ids}) RETURNING version"
            )
        };
        let any = |ids: &str| {
            format!(
                "INSERT INTO {heads} AS h (bounded_context, aggregate_type, aggregate_id, version) \
                 SELECT $1::text, $2::text, $3::text, $4::bigint \
                 WHERE NOT EXISTS (SELECT 1 FROM {events} WHERE event_id {ids}) \
                 ON CONFLICT (bounded_context, aggregate_type, aggregate_id) \
                 DO UPDATE SET version = h.version + EXCLUDED.version RETURNING version"
            )
        };
        let batch = |head: String| sql(append_statement(&events, &head, Rows::Arrays));
        let one = |head: String| sql(append_statement(&events, &head, Rows::One));
        let (ids, id) = ("= ANY($5)", "= $5::uuid");
        let appends = Appends {
            no_stream: batch(no_stream(ids)),
            exact: batch(exact(ids)),
            any: batch(any(ids)),
            one_no_stream: one(no_stream(id)),
            one_exact: one(exact(id)),
            one_any: one(any(id)),
        };
        let reads = EventStatements::new(Dialect::Postgres, tables);
        Self {
            appends,
            conflict_probe: sql(format!(
                "SELECT coalesce((SELECT version FROM {heads} WHERE bounded_context = $1 \
                 AND aggregate_type = $2 AND aggregate_id = $3), 0), \
                 ARRAY(SELECT event_id FROM {events} WHERE event_id = ANY($4))"
            )),
            read_stream: reads.read_stream.into(),
            stream_version: reads.stream_version.into(),
            read_events: reads.read_events.into(),
            latest_position: reads.latest_position.into(),
            safe_frontier: sql(format!(
                "SELECT coalesce((SELECT safe_position FROM {frontier} WHERE id = 1), 0)"
            )),
            // The frontier is derived state: losing the last advances in a crash only means
            // recomputing them, so its commits need not wait for the disk.
            frontier_lock: sql("SELECT pg_try_advisory_xact_lock($1) \
                 AND set_config('synchronous_commit', 'off', true) IS NOT NULL"
                .to_owned()),
            frontier_read: sql(format!(
                "SELECT f.safe_position, \
                   pg_snapshot_xmin(pg_current_snapshot())::text::bigint, \
                   coalesce((SELECT max(global_position) FROM {events}), 0), \
                   ARRAY(SELECT start_position FROM {holes} h \
                         WHERE h.end_position > f.safe_position ORDER BY 1), \
                   ARRAY(SELECT end_position FROM {holes} h \
                         WHERE h.end_position > f.safe_position ORDER BY start_position), \
                   ARRAY(SELECT first_seen_xid FROM {holes} h \
                         WHERE h.end_position > f.safe_position ORDER BY start_position), \
                   ARRAY(SELECT extract(epoch FROM now() - first_seen_at)::float8 FROM {holes} h \
                         WHERE h.end_position > f.safe_position ORDER BY start_position), \
                   ARRAY(SELECT coalesce(resolution, '') FROM {holes} h \
                         WHERE h.end_position > f.safe_position ORDER BY start_position), \
                   ARRAY(SELECT global_position FROM {events} \
                         WHERE global_position > f.safe_position ORDER BY global_position LIMIT $1) \
                 FROM {frontier} f WHERE f.id = 1"
            )),
            frontier_write: sql(format!(
                "WITH advanced AS (UPDATE {frontier} \
                     SET safe_position = greatest(safe_position, $1), updated_at = now() \
                     WHERE id = 1 RETURNING safe_position), \
                 recorded AS (INSERT INTO {holes} \
                     (start_position, end_position, first_seen_xid) \
                     SELECT s, e, $4 FROM unnest($2::bigint[], $3::bigint[]) AS n(s, e) \
                     ON CONFLICT (start_position) DO NOTHING), \
                 resolved AS (UPDATE {holes} h SET resolution = r.resolution, resolved_at = now() \
                     FROM unnest($5::bigint[], $6::text[]) AS r(start_position, resolution) \
                     WHERE h.start_position = r.start_position AND h.resolved_at IS NULL), \
                 purged AS (DELETE FROM {holes} WHERE end_position <= $1 \
                     AND resolution IN ('filled', 'dead') \
                     AND resolved_at < now() - make_interval(secs => $7::float8)) \
                 SELECT safe_position FROM advanced"
            )),
            frontier_own_xid: sql("SELECT pg_current_xact_id()::text::bigint".to_owned()),
            frontier_status: sql(format!(
                "SELECT f.safe_position, coalesce((SELECT max(global_position) FROM {events}), 0), \
                   ARRAY(SELECT start_position FROM {holes} h WHERE h.resolved_at IS NULL \
                         AND h.end_position > f.safe_position ORDER BY 1), \
                   ARRAY(SELECT end_position FROM {holes} h WHERE h.resolved_at IS NULL \
                         AND h.end_position > f.safe_position ORDER BY start_position), \
                   ARRAY(SELECT extract(epoch FROM now() - first_seen_at)::float8 FROM {holes} h \
                         WHERE h.resolved_at IS NULL AND h.end_position > f.safe_position \
                         ORDER BY start_position) \
                 FROM {frontier} f WHERE f.id = 1"
            )),
            oldest_transaction: sql(
                "SELECT pid, extract(epoch FROM now() - xact_start)::float8, left(query, 200) \
                 FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid() \
                 AND datname = current_database() \
                 ORDER BY xact_start LIMIT 1"
                    .to_owned(),
            ),
        }
    }

    /// The append statement for `expected`, in its single-event form when `rows` is one.
    pub(crate) fn append(&self, expected: ExpectedVersion, rows: Rows) -> SqlStr {
        let statement = match (expected, rows) {
            (ExpectedVersion::NoStream | ExpectedVersion::Exact(0), Rows::Arrays) => {
                &self.appends.no_stream
            }
            (ExpectedVersion::Exact(_), Rows::Arrays) => &self.appends.exact,
            (ExpectedVersion::Any, Rows::Arrays) => &self.appends.any,
            (ExpectedVersion::NoStream | ExpectedVersion::Exact(0), Rows::One) => {
                &self.appends.one_no_stream
            }
            (ExpectedVersion::Exact(_), Rows::One) => &self.appends.one_exact,
            (ExpectedVersion::Any, Rows::One) => &self.appends.one_any,
        };
        statement.clone()
    }
}

/// The six append statements: by expectation, for any number of events or for one.
#[derive(Debug)]
struct Appends {
    no_stream: SqlStr,
    exact: SqlStr,
    any: SqlStr,
    one_no_stream: SqlStr,
    one_exact: SqlStr,
    one_any: SqlStr,
}

/// How an append statement receives its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rows {
    /// One array per column, unnested in version order: any number of events.
    Arrays,
    /// Scalars for a single event, the most common append. It skips the unnest and its sort,
    /// which is about a tenth of a single append's server time.
    One,
}

/// One round trip per append: the stream-head write, which enforces the expected version and
/// that no event id exists yet (it returns no row otherwise, and nothing else happens), then the
/// insert. Which of the two refused is read only when one did. With the duplicate check as an
/// `EXISTS` inside the head write, PostgreSQL settles on the statement's generic plan; an earlier
/// form, a CTE of duplicate ids that the statement also returned, kept it on custom plans, so
/// every append was planned again (about 250 µs). Positions come back unordered; they were drawn
/// in version order, so sorting them restores it. The transaction id comes back too, for the
/// store's [`Notifier`](super::notifier::Notifier).
///
/// `$1..$3` are the stream, `$4` the batch size, `$5..$13` the event columns (arrays or
/// scalars, see [`Rows`]), `$14` the stream's partition hash and `$15` the expected version
/// (only for `Exact`).
fn append_statement(events: &str, head: &str, rows: Rows) -> String {
    let source = match rows {
        Rows::Arrays => {
            "SELECT $1, $2, $3, head.version - $4 + e.ord, $14::bigint, e.event_id, e.event_type, \
               e.event_version, e.payload, e.metadata::json, e.created_at, e.trace_id, \
               e.correlation_id, e.causation_id \
             FROM head, unnest($5::uuid[], $6::text[], $7::int4[], $8::bytea[], $9::text[], \
               $10::timestamptz[], $11::text[], $12::text[], $13::text[]) WITH ORDINALITY \
               AS e(event_id, event_type, event_version, payload, metadata, created_at, \
               trace_id, correlation_id, causation_id, ord) \
             ORDER BY e.ord"
        }
        Rows::One => {
            "SELECT $1, $2, $3, head.version, $14::bigint, $5::uuid, $6::text, $7::int4, \
               $8::bytea, $9::text::json, $10::timestamptz, $11::text, $12::text, $13::text \
             FROM head"
        }
    };
    format!(
        "WITH head AS ({head}), \
         ins AS (INSERT INTO {events} (bounded_context, aggregate_type, aggregate_id, \
             aggregate_version, stream_hash, event_id, event_type, event_version, payload, \
             metadata, created_at, trace_id, correlation_id, causation_id) \
           {source} RETURNING global_position) \
         SELECT (SELECT version FROM head), ARRAY(SELECT global_position FROM ins), \
           pg_current_xact_id_if_assigned()::text::bigint"
    )
}

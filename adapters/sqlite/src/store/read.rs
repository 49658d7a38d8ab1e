//! Stream and global-log reads, and row decoding.

use std::sync::Arc;

use pupsourcing::{Event, LogQuery, PersistedEvent, StoreError, Stream, StreamId, Versions};
use pupsourcing_migrations::{EventsUntil, events_until};
use rusqlite::{Connection, Row};
use sea_query::{SqliteQueryBuilder, Value};
use sea_query_rusqlite::RusqliteBinder;

use super::Inner;
use crate::convert::{
    from_integer, parse_json, parse_timestamp, parse_uuid, row_limit, to_integer, upper_bound,
};
use crate::error::{Context, failure};
use crate::{SqliteDatabase, SqliteTx};

/// A stream's key columns, the first arguments of the stream statements.
pub(crate) fn stream_args(stream: &StreamId) -> Vec<Value> {
    [stream.bounded_context_column(), stream.aggregate_type(), stream.aggregate_id()]
        .into_iter()
        .map(Value::from)
        .collect()
}

pub(crate) async fn read_stream(
    store: &Arc<Inner>,
    tx: &mut SqliteTx,
    stream: &StreamId,
    versions: Versions,
) -> Result<Stream, StoreError> {
    let (store, id) = (Arc::clone(store), stream.clone());
    tx.run("read_stream", move |conn| select_stream(&store, conn, &id, versions)).await
}

/// The stream read outside any transaction: one statement on a pooled connection.
pub(crate) async fn read_stream_committed(
    store: &Arc<Inner>,
    db: &SqliteDatabase,
    stream: &StreamId,
    versions: Versions,
) -> Result<Stream, StoreError> {
    let (store, id) = (Arc::clone(store), stream.clone());
    db.read_once("read_stream", move |conn| select_stream(&store, conn, &id, versions)).await
}

fn select_stream(
    store: &Inner,
    conn: &mut Connection,
    stream: &StreamId,
    versions: Versions,
) -> Result<Stream, StoreError> {
    let from = to_integer("from version", versions.first())?;
    let to = versions.last().map_or(i64::MAX, upper_bound);
    let statement = &store.sql.read_stream;
    let mut select = statement.prepare(conn).during("read_stream")?;
    let mut args = stream_args(stream);
    args.extend([Value::from(from), Value::from(to)]);
    let values = statement.values(&args);
    let rows = select.query(&*values.as_params()).during("read_stream")?;
    Ok(Stream::new(stream.clone(), decode_all(rows, "read_stream")?))
}

pub(crate) async fn stream_version(
    store: &Arc<Inner>,
    tx: &mut SqliteTx,
    stream: &StreamId,
) -> Result<u64, StoreError> {
    let (store, id) = (Arc::clone(store), stream.clone());
    tx.run("stream_version", move |conn| {
        let version: Option<i64> = store
            .sql
            .stream_version
            .optional_row(conn, &stream_args(&id), |row| row.get(0))
            .during("stream_version")?;
        Ok(version.map_or(Ok(0), from_integer).during("stream_version")?)
    })
    .await
}

pub(crate) async fn read_events(
    store: &Arc<Inner>,
    tx: &mut SqliteTx,
    after: u64,
    limit: usize,
) -> Result<Vec<PersistedEvent>, StoreError> {
    let after = to_integer("after position", after)?;
    let limit = row_limit(limit);
    let store = Arc::clone(store);
    tx.run("read_events", move |conn| {
        let statement = &store.sql.read_events;
        let mut select = statement.prepare(conn).during("read_events")?;
        let values = statement.values(&[Value::from(after), Value::from(limit)]);
        let rows = select.query(&*values.as_params()).during("read_events")?;
        decode_all(rows, "read_events")
    })
    .await
}

pub(crate) async fn latest_position(
    store: &Arc<Inner>,
    tx: &mut SqliteTx,
) -> Result<u64, StoreError> {
    let store = Arc::clone(store);
    tx.run("latest_position", move |conn| {
        let position: Option<i64> = store
            .sql
            .latest_position
            .optional_row(conn, &[], |row| row.get(0))
            .during("latest_position")?;
        let position = position.unwrap_or(0);
        Ok(from_integer(position).during("latest_position")?)
    })
    .await
}

/// Every position below the transaction's own first append is committed (the write lock has been
/// held since `BEGIN IMMEDIATE`); without own appends, the highest position is.
pub(crate) async fn safe_frontier(
    store: &Arc<Inner>,
    tx: &mut SqliteTx,
) -> Result<u64, StoreError> {
    match tx.first_own_position() {
        Some(first) => Ok(first.saturating_sub(1)),
        None => latest_position(store, tx).await,
    }
}

pub(crate) async fn read_events_until(
    store: &Arc<Inner>,
    tx: &mut SqliteTx,
    query: &LogQuery,
) -> Result<Vec<PersistedEvent>, StoreError> {
    let filter = query.event_filter();
    let select = EventsUntil {
        after: to_integer("after position", query.after_position())?,
        frontier: upper_bound(query.up_to_position()),
        aggregate_types: filter.aggregate_type_list(),
        bounded_contexts: filter.bounded_context_list(),
        event_types: filter.event_type_list(),
        stream_hashes: filter.partition_hashes(),
        limit: row_limit(query.row_limit()),
    };
    let (sql, values) =
        events_until(store.config.tables(), &select).build_rusqlite(SqliteQueryBuilder);
    tx.run("read_events_until", move |conn| {
        let mut select = conn.prepare_cached(&sql).during("read_events_until")?;
        let rows = select.query(&*values.as_params()).during("read_events_until")?;
        decode_all(rows, "read_events_until")
    })
    .await
}

/// Decodes every row of `rows`, selected with `pupsourcing_migrations::EVENT_COLUMNS`. Once a
/// row's position is known, any failure names it: [`StoreError::UnreadableEvent`].
fn decode_all(
    mut rows: rusqlite::Rows<'_>,
    operation: &'static str,
) -> Result<Vec<PersistedEvent>, StoreError> {
    let mut events = Vec::new();
    while let Some(row) = rows.next().during(operation)? {
        let global_position = row.get(0).and_then(from_integer).during(operation)?;
        let event = decode(row, global_position).map_err(|source| StoreError::UnreadableEvent {
            position: global_position,
            source: failure("decode", source).into(),
        })?;
        events.push(event);
    }
    Ok(events)
}

fn decode(row: &Row<'_>, global_position: u64) -> rusqlite::Result<PersistedEvent> {
    let stream = StreamId::from_columns(row.get(2)?, row.get(3)?, row.get(4)?);
    let event = Event {
        stream,
        event_id: parse_uuid(5, row.get_ref(5)?.as_str()?)?,
        event_type: row.get(6)?,
        event_version: row.get(7)?,
        payload: row.get(8)?,
        metadata: parse_json(9, row.get_ref(9)?.as_str()?)?,
        created_at: parse_timestamp(10, row.get_ref(10)?.as_str()?)?,
        trace_id: row.get(11)?,
        correlation_id: row.get(12)?,
        causation_id: row.get(13)?,
    };
    Ok(PersistedEvent { event, global_position, aggregate_version: from_integer(row.get(1)?)? })
}

//! Stream and global-log reads, and row decoding.

use std::sync::Arc;

use pupsourcing::{Event, EventFilter, PersistedEvent, StoreError, Stream, StreamId};
use pupsourcing_migrations::{EventsUntil, events_until};
use rusqlite::{OptionalExtension, Row, params};
use sea_query::SqliteQueryBuilder;
use sea_query_rusqlite::RusqliteBinder;

use super::Inner;
use crate::SqliteTx;
use crate::convert::{from_integer, parse_json, parse_timestamp, parse_uuid, to_integer};
use crate::error::Context;

pub(crate) async fn read_stream(
    store: &Arc<Inner>,
    tx: &mut SqliteTx,
    stream: &StreamId,
    from: Option<u64>,
    to: Option<u64>,
) -> Result<Stream, StoreError> {
    let from = to_integer("from version", from.unwrap_or(1))?;
    let to = to.map_or(i64::MAX, |to| i64::try_from(to).unwrap_or(i64::MAX));
    let (store, id) = (Arc::clone(store), stream.clone());
    let events = tx
        .run("read_stream", move |conn| {
            let mut select = conn.prepare_cached(&store.sql.read_stream).during("read_stream")?;
            let rows = select
                .query_map(
                    params![
                        id.bounded_context_column(),
                        id.aggregate_type(),
                        id.aggregate_id(),
                        from,
                        to
                    ],
                    decode,
                )
                .during("read_stream")?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
                .during("read_stream")
                .map_err(StoreError::from)
        })
        .await?;
    Ok(Stream::new(stream.clone(), events))
}

pub(crate) async fn stream_version(
    store: &Arc<Inner>,
    tx: &mut SqliteTx,
    stream: &StreamId,
) -> Result<u64, StoreError> {
    let (store, id) = (Arc::clone(store), stream.clone());
    tx.run("stream_version", move |conn| {
        let version: Option<i64> = conn
            .prepare_cached(&store.sql.stream_version)
            .and_then(|mut select| {
                select
                    .query_row(
                        [id.bounded_context_column(), id.aggregate_type(), id.aggregate_id()],
                        |row| row.get(0),
                    )
                    .optional()
            })
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
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let store = Arc::clone(store);
    tx.run("read_events", move |conn| {
        let mut select = conn.prepare_cached(&store.sql.read_events).during("read_events")?;
        let rows = select.query_map(params![after, limit], decode).during("read_events")?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>().during("read_events")?)
    })
    .await
}

pub(crate) async fn latest_position(
    store: &Arc<Inner>,
    tx: &mut SqliteTx,
) -> Result<u64, StoreError> {
    let store = Arc::clone(store);
    tx.run("latest_position", move |conn| {
        let position: i64 = conn
            .prepare_cached(&store.sql.latest_position)
            .and_then(|mut select| select.query_row([], |row| row.get(0)))
            .during("latest_position")?;
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
    after: u64,
    frontier: u64,
    filter: &EventFilter,
    limit: usize,
) -> Result<Vec<PersistedEvent>, StoreError> {
    let query = EventsUntil {
        after: to_integer("after position", after)?,
        frontier: to_integer("frontier", frontier)?,
        aggregate_types: filter.aggregate_type_list(),
        bounded_contexts: filter.bounded_context_list(),
        partition: filter.partition_of(),
        limit: u64::try_from(limit).unwrap_or(u64::MAX),
    };
    let (sql, values) =
        events_until(store.config.tables(), &query).build_rusqlite(SqliteQueryBuilder);
    tx.run("read_events_until", move |conn| {
        let mut select = conn.prepare_cached(&sql).during("read_events_until")?;
        let rows = select.query_map(&*values.as_params(), decode).during("read_events_until")?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>().during("read_events_until")?)
    })
    .await
}

/// Decodes a row selected with `pupsourcing_migrations::EVENT_COLUMNS`.
pub(crate) fn decode(row: &Row<'_>) -> rusqlite::Result<PersistedEvent> {
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
    Ok(PersistedEvent {
        event,
        global_position: from_integer(row.get(0)?)?,
        aggregate_version: from_integer(row.get(1)?)?,
    })
}

//! Stream and global-log reads, and row decoding.

use pupsourcing::{Event, LogQuery, PersistedEvent, StoreError, Stream, StreamId, Versions};
use pupsourcing_migrations::{EventsUntil, events_until};
use sea_query::{PostgresQueryBuilder, Value};
use sea_query_sqlx::SqlxBinder;
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{AssertSqlSafe, Row};

use super::Inner;
use crate::PgTx;
use crate::convert::{from_bigint, row_limit, to_bigint, upper_bound};
use crate::error::{Context, Failure, failure};

/// A stream's key columns as the first arguments, then `more`.
fn stream_args<const N: usize>(stream: &StreamId, more: [i64; N]) -> Vec<Value> {
    [stream.bounded_context_column(), stream.aggregate_type(), stream.aggregate_id()]
        .into_iter()
        .map(Value::from)
        .chain(more.map(Value::from))
        .collect()
}

pub(crate) async fn read_stream(
    store: &Inner,
    conn: &mut PgConnection,
    stream: &StreamId,
    versions: Versions,
) -> Result<Stream, StoreError> {
    let from = to_bigint("from version", versions.first())?;
    let to = versions.last().map_or(i64::MAX, upper_bound);
    let rows = store
        .sql
        .read_stream
        .query(&stream_args(stream, [from, to]))
        .fetch_all(&mut *conn)
        .await
        .during("read_stream")?;
    let events = rows.iter().map(decode).collect::<Result<_, _>>()?;
    Ok(Stream::new(stream.clone(), events))
}

pub(crate) async fn stream_version(
    store: &Inner,
    tx: &mut PgTx,
    stream: &StreamId,
) -> Result<u64, StoreError> {
    let version: Option<i64> = store
        .sql
        .stream_version
        .scalar(&stream_args(stream, []))
        .fetch_optional(&mut **tx)
        .await
        .during("stream_version")?;
    Ok(version.map_or(Ok(0), |v| from_bigint("stream_version", v))?)
}

pub(crate) async fn read_events(
    store: &Inner,
    tx: &mut PgTx,
    after: u64,
    limit: usize,
) -> Result<Vec<PersistedEvent>, StoreError> {
    let after = to_bigint("after position", after)?;
    let limit = row_limit(limit);
    let rows = store
        .sql
        .read_events
        .query(&[Value::from(after), Value::from(limit)])
        .fetch_all(&mut **tx)
        .await
        .during("read_events")?;
    rows.iter().map(decode).collect()
}

pub(crate) async fn latest_position(store: &Inner, tx: &mut PgTx) -> Result<u64, StoreError> {
    let position: i64 = store
        .sql
        .latest_position
        .scalar(&[])
        .fetch_one(&mut **tx)
        .await
        .during("latest_position")?;
    Ok(from_bigint("latest_position", position)?)
}

pub(crate) async fn safe_frontier(store: &Inner, tx: &mut PgTx) -> Result<u64, StoreError> {
    let position: i64 = sqlx::query_scalar(store.sql.safe_frontier.clone())
        .fetch_one(&mut **tx)
        .await
        .during("safe_frontier")?;
    Ok(from_bigint("safe_frontier", position)?)
}

pub(crate) async fn read_events_until(
    store: &Inner,
    tx: &mut PgTx,
    query: &LogQuery,
) -> Result<Vec<PersistedEvent>, StoreError> {
    let filter = query.event_filter();
    let select = EventsUntil {
        after: to_bigint("after position", query.after_position())?,
        frontier: upper_bound(query.up_to_position()),
        aggregate_types: filter.aggregate_type_list(),
        bounded_contexts: filter.bounded_context_list(),
        event_types: filter.event_type_list(),
        stream_hashes: filter.partition_hashes(),
        limit: row_limit(query.row_limit()),
    };
    let (sql, values) =
        events_until(store.config.tables(), &select).build_sqlx(PostgresQueryBuilder);
    let rows = sqlx::query_with(AssertSqlSafe(sql), values)
        .fetch_all(&mut **tx)
        .await
        .during("read_events_until")?;
    rows.iter().map(decode).collect()
}

/// Decodes a row selected with `pupsourcing_migrations::EVENT_COLUMNS`. Once the position is
/// known, any failure names it: [`StoreError::UnreadableEvent`].
pub(crate) fn decode(row: &PgRow) -> Result<PersistedEvent, StoreError> {
    let position: i64 = row.try_get(0).during("decode")?;
    let global_position = from_bigint("decode", position)?;
    decode_rest(row, global_position).map_err(|failure| StoreError::UnreadableEvent {
        position: global_position,
        source: failure.into(),
    })
}

fn decode_rest(row: &PgRow, global_position: u64) -> Result<PersistedEvent, Failure> {
    let stream = StreamId::from_columns(
        row.try_get(2).during("decode")?,
        row.try_get(3).during("decode")?,
        row.try_get(4).during("decode")?,
    );
    let event_version: i32 = row.try_get(7).during("decode")?;
    let event = Event {
        stream,
        event_id: row.try_get(5).during("decode")?,
        event_type: row.try_get(6).during("decode")?,
        event_version: u32::try_from(event_version)
            .map_err(|err| failure("decode", sqlx::Error::Decode(Box::new(err))))?,
        payload: row.try_get(8).during("decode")?,
        metadata: row.try_get(9).during("decode")?,
        created_at: row.try_get(10).during("decode")?,
        trace_id: row.try_get(11).during("decode")?,
        correlation_id: row.try_get(12).during("decode")?,
        causation_id: row.try_get(13).during("decode")?,
    };
    Ok(PersistedEvent {
        event,
        global_position,
        aggregate_version: from_bigint("decode", row.try_get(1).during("decode")?)?,
    })
}

//! Stream and global-log reads, and row decoding.

use pupsourcing::{Event, LogQuery, PersistedEvent, StoreError, Stream, StreamId, Versions};
use pupsourcing_migrations::{EventsUntil, events_until};
use sea_query::{MysqlQueryBuilder, Value};
use sea_query_sqlx::SqlxBinder;
use sqlx::mysql::{MySqlConnection, MySqlRow};
use sqlx::{AssertSqlSafe, Row};

use super::Inner;
use crate::MysqlTx;
use crate::convert::{from_bigint, name, row_limit, to_bigint, upper_bound, uuid};
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
    conn: &mut MySqlConnection,
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
    tx: &mut MysqlTx,
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
    tx: &mut MysqlTx,
    after: u64,
    limit: usize,
) -> Result<Vec<PersistedEvent>, StoreError> {
    let after = to_bigint("after position", after)?;
    let rows = store
        .sql
        .read_events
        .query(&[Value::from(after), Value::from(row_limit(limit))])
        .fetch_all(&mut **tx)
        .await
        .during("read_events")?;
    rows.iter().map(decode).collect()
}

pub(crate) async fn latest_position(store: &Inner, tx: &mut MysqlTx) -> Result<u64, StoreError> {
    let position: i64 = store
        .sql
        .latest_position
        .scalar(&[])
        .fetch_one(&mut **tx)
        .await
        .during("latest_position")?;
    Ok(from_bigint("latest_position", position)?)
}

pub(crate) async fn read_events_until(
    store: &Inner,
    tx: &mut MysqlTx,
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
    let (sql, values) = events_until(store.config.tables(), &select).build_sqlx(MysqlQueryBuilder);
    let rows = sqlx::query_with(AssertSqlSafe(sql), values)
        .fetch_all(&mut **tx)
        .await
        .during("read_events_until")?;
    rows.iter().map(decode).collect()
}

/// Decodes a row selected with `pupsourcing_migrations::EVENT_COLUMNS`; once the position is
/// known, any failure names it.
pub(crate) fn decode(row: &MySqlRow) -> Result<PersistedEvent, StoreError> {
    let position: i64 = row.try_get(0).during("decode")?;
    let global_position = from_bigint("decode", position)?;
    decode_rest(row, global_position).map_err(|failure| StoreError::UnreadableEvent {
        position: global_position,
        source: failure.into(),
    })
}

fn decode_rest(row: &MySqlRow, global_position: u64) -> Result<PersistedEvent, Failure> {
    let text = |index: usize| -> Result<String, Failure> {
        name("decode", row.try_get::<Vec<u8>, _>(index).during("decode")?)
    };
    let stream = StreamId::from_columns(text(2)?, text(3)?, text(4)?);
    let event_version: i32 = row.try_get(7).during("decode")?;
    let metadata: String = row.try_get(9).during("decode")?;
    let created_at: chrono::NaiveDateTime = row.try_get(10).during("decode")?;
    let event_id: Vec<u8> = row.try_get(5).during("decode")?;
    let event = Event {
        stream,
        event_id: uuid("decode", &event_id)?,
        event_type: text(6)?,
        event_version: u32::try_from(event_version)
            .map_err(|err| failure("decode", sqlx::Error::Decode(Box::new(err))))?,
        payload: row.try_get(8).during("decode")?,
        metadata: serde_json::from_str(&metadata)
            .map_err(|err| failure("decode", sqlx::Error::Decode(Box::new(err))))?,
        created_at: created_at.and_utc(),
        trace_id: row.try_get(11).during("decode")?,
        correlation_id: row.try_get(12).during("decode")?,
        causation_id: row.try_get(13).during("decode")?,
    };
    let version: i64 = row.try_get(1).during("decode")?;
    Ok(PersistedEvent {
        event,
        global_position,
        aggregate_version: from_bigint("decode", version)?,
    })
}

//! Appending: validation, the head first (so the appender holds an InnoDB transaction id before
//! it draws a position: the frontier's proof rests on it), then the events.

use pupsourcing::spi::prepare_append;
use pupsourcing::{
    AppendResult, BackendError, BackendErrorKind, Event, ExpectedVersion, PersistedEvent,
    StoreError, StreamId,
};
use sqlx::{AssertSqlSafe, Row};
use uuid::Uuid;

use super::Inner;
use crate::convert::{from_bigint, to_bigint, to_datetime, uuid};
use crate::error::{Context, DUPLICATE_ENTRY, error_number, failure};
use crate::{GapStrategy, MysqlTx, PositionReadback};
use pupsourcing_migrations::EVENT_ID_KEY_SUFFIX;

pub(crate) async fn append(
    store: &Inner,
    tx: &mut MysqlTx,
    expected: ExpectedVersion,
    mut events: Vec<Event>,
) -> Result<AppendResult, StoreError> {
    let stream = prepare_append(&mut events, expected, store.config.limits())?;
    check_packet(store, tx, &events).await?;
    let count = u64::try_from(events.len()).unwrap_or(u64::MAX);
    let returning = match store.config.gap_strategy() {
        GapStrategy::CounterRow => false,
        GapStrategy::TransactionFence => returning(store, tx).await?,
    };
    let to_version = match move_head(store, tx, &stream, expected, count).await {
        Ok(version) => version,
        Err(err) => return Err(refused(store, tx, stream, &events, err).await),
    };
    let first_version = to_version + 1 - count;
    let hash = to_bigint("stream hash", stream.partition_hash())?;
    let drawn = match store.config.gap_strategy() {
        GapStrategy::CounterRow => Some(draw_positions(store, tx, count).await?),
        GapStrategy::TransactionFence => None,
    };
    let sql = match drawn {
        Some(_) => store.sql.insert_events_at(events.len()),
        None => store.sql.insert_events(events.len(), returning),
    };
    let mut insert = sqlx::query(AssertSqlSafe(sql));
    for (index, (event, version)) in events.iter().zip(first_version..).enumerate() {
        insert = insert
            .bind(stream.bounded_context_column())
            .bind(stream.aggregate_type())
            .bind(stream.aggregate_id())
            .bind(to_bigint("version", version)?)
            .bind(hash)
            .bind(event.event_id.as_bytes().as_slice())
            .bind(event.event_type.as_str())
            .bind(event.event_version)
            .bind(event.payload.as_slice())
            .bind(event.metadata.to_string())
            .bind(to_datetime(event.created_at))
            .bind(event.trace_id.as_deref())
            .bind(event.correlation_id.as_deref())
            .bind(event.causation_id.as_deref());
        if let Some(first) = drawn {
            insert = insert.bind(to_bigint("position", first + u64::try_from(index).unwrap_or(0))?);
        }
    }
    let inserted = if returning {
        insert.fetch_all(&mut **tx).await.map(Inserted::Rows)
    } else {
        insert.execute(&mut **tx).await.map(|done| Inserted::From(done.last_insert_id()))
    };
    if inserted.is_err() {
        undo(store, tx, &stream, to_version, count, drawn.is_some()).await;
    }
    let positions = match (drawn, inserted) {
        (Some(first), Ok(_)) => (first..first + count).collect(),
        (None, Ok(Inserted::From(0))) => {
            let detail = "the insert generated no position: is global_position AUTO_INCREMENT?";
            return Err(refusal(BackendErrorKind::Schema, detail.to_owned()));
        }
        (None, Ok(Inserted::From(first))) => (first..first + count).collect(),
        (None, Ok(Inserted::Rows(rows))) => {
            let mut positions = rows
                .iter()
                .map(|row| {
                    let position: i64 = row.try_get(0).during("append")?;
                    from_bigint("append", position)
                })
                .collect::<Result<Vec<_>, _>>()?;
            positions.sort_unstable();
            positions
        }
        (_, Err(err)) if is_duplicate_event_id(store, &err) => {
            return Err(duplicate(store, tx, stream, &events).await);
        }
        (_, Err(err)) => return Err(failure("append", err).into()),
    };
    let persisted = events
        .into_iter()
        .zip(positions)
        .zip(first_version..)
        .map(|((event, global_position), aggregate_version)| PersistedEvent {
            event,
            global_position,
            aggregate_version,
        })
        .collect();
    Ok(AppendResult::new(stream, persisted))
}

/// An append the store refuses before or without the server's error, saying why in its message.
fn refusal(kind: BackendErrorKind, detail: String) -> StoreError {
    BackendError::new(kind, "append", detail.clone()).with_detail(detail).into()
}

/// What an insert tells about its positions: the rows of `RETURNING`, or the first position.
enum Inserted {
    Rows(Vec<sqlx::mysql::MySqlRow>),
    From(u64),
}

/// Whether the insert was refused for an event id already stored (the unique key on
/// `event_id`, named in the server's message), not for another key.
fn is_duplicate_event_id(store: &Inner, err: &sqlx::Error) -> bool {
    let key = store.config.tables().events().with_suffix(EVENT_ID_KEY_SUFFIX);
    error_number(err) == Some(DUPLICATE_ENTRY)
        && err
            .as_database_error()
            .is_some_and(|db| db.message().contains(&format!("{}'", key.as_str())))
}

/// Whether this store's appends use `INSERT … RETURNING`: as configured, or MariaDB's
/// (detected from `VERSION()` on the first append). Without it, positions are numbered from
/// `LAST_INSERT_ID()`, which needs `auto_increment_increment` = 1.
async fn returning(store: &Inner, tx: &mut MysqlTx) -> Result<bool, StoreError> {
    let server = match store.server.get() {
        Some(server) => *server,
        None => {
            let (version, increment): (String, u64) =
                sqlx::query_as("SELECT VERSION(), CAST(@@auto_increment_increment AS UNSIGNED)")
                    .fetch_one(&mut **tx)
                    .await
                    .during("append")?;
            let mariadb = version.to_ascii_lowercase().contains("mariadb");
            *store.server.get_or_init(|| (mariadb, increment))
        }
    };
    let (mariadb, increment) = server;
    let returning = match store.config.position_readback() {
        PositionReadback::Returning => true,
        PositionReadback::LastInsertId => false,
        PositionReadback::Detect => mariadb,
    };
    if !returning && increment != 1 {
        return Err(refusal(
            BackendErrorKind::Other,
            format!(
                "auto_increment_increment is {increment}, so a multi-row insert's positions are \
                 not consecutive and cannot be read from LAST_INSERT_ID(): set it to 1 for the \
                 store's connections, or use a server with INSERT … RETURNING (MariaDB)"
            ),
        ));
    }
    Ok(returning)
}

/// Puts the stream head (and the counter) back as they were before this append, after its
/// insert failed: the failed statement alone was rolled back, and a caller that goes on with the
/// transaction (say, after a typed duplicate) must not commit a head without its events. Best
/// effort: if the connection is gone, so is the transaction.
async fn undo(
    store: &Inner,
    tx: &mut MysqlTx,
    stream: &StreamId,
    to_version: u64,
    count: u64,
    drawn: bool,
) {
    let Ok(by) = to_bigint("event count", count) else { return };
    let key = [stream.bounded_context_column(), stream.aggregate_type(), stream.aggregate_id()];
    let head = if to_version == count {
        sqlx::query(AssertSqlSafe(store.sql.drop_head.clone()))
    } else {
        sqlx::query(AssertSqlSafe(store.sql.unmove_head.clone())).bind(by)
    };
    let _ = head.bind(key[0]).bind(key[1]).bind(key[2]).execute(&mut **tx).await;
    if drawn {
        let _ = sqlx::query(AssertSqlSafe(store.sql.undraw_positions.clone()))
            .bind(by)
            .execute(&mut **tx)
            .await;
    }
}

/// Space an event row takes in the insert beside its payload and metadata: names, ids, times.
const ROW_OVERHEAD: u64 = 4 * 1024;

/// Refuses, before sending anything, an insert larger than the server's `max_allowed_packet`:
/// the server would close the connection, which looks like a network failure (and would be
/// retried) instead of saying what is wrong.
async fn check_packet(store: &Inner, tx: &mut MysqlTx, events: &[Event]) -> Result<(), StoreError> {
    use std::sync::atomic::Ordering;
    let size: u64 = events
        .iter()
        .map(|e| {
            let payload = u64::try_from(e.payload.len()).unwrap_or(u64::MAX);
            payload.saturating_add(u64::try_from(e.metadata.to_string().len()).unwrap_or(0))
        })
        .fold(0u64, |sum, row| sum.saturating_add(row).saturating_add(ROW_OVERHEAD));
    let mut limit = store.max_packet.load(Ordering::Relaxed);
    // The limit is read on first use, and again before refusing (it may have been raised).
    if limit == 0 || size > limit {
        let read: Option<u64> = sqlx::query_scalar("SELECT CAST(@@max_allowed_packet AS UNSIGNED)")
            .fetch_one(&mut **tx)
            .await
            .during("append")?;
        limit = read.unwrap_or(u64::MAX);
        store.max_packet.store(limit, Ordering::Relaxed);
    }
    if size > limit {
        return Err(refusal(
            BackendErrorKind::Data,
            format!(
                "the append needs a packet of about {size} bytes and the server's \
                 max_allowed_packet is {limit}: raise it (SET GLOBAL max_allowed_packet, and in \
                 the server's configuration) above the largest append, or append less at once"
            ),
        ));
    }
    Ok(())
}

/// Draws `count` positions from the counter row; returns the first. The row stays locked until
/// the transaction ends, so positions commit in order (and a rollback returns them).
async fn draw_positions(store: &Inner, tx: &mut MysqlTx, count: u64) -> Result<u64, StoreError> {
    let done = sqlx::query(AssertSqlSafe(store.sql.draw_positions.clone()))
        .bind(to_bigint("event count", count)?)
        .execute(&mut **tx)
        .await
        .during("append")?;
    if done.rows_affected() == 0 {
        return Err(refusal(
            BackendErrorKind::Schema,
            "the position counter has no row: run migrate()".to_owned(),
        ));
    }
    Ok(done.last_insert_id() + 1 - count)
}

async fn existing_ids(
    store: &Inner,
    tx: &mut MysqlTx,
    events: &[Event],
) -> Result<Vec<Uuid>, StoreError> {
    let mut probe =
        sqlx::query_scalar::<_, Vec<u8>>(AssertSqlSafe(store.sql.existing_ids(events.len())));
    for event in events {
        probe = probe.bind(event.event_id.as_bytes().to_vec());
    }
    let found = probe.fetch_all(&mut **tx).await.during("append")?;
    Ok(found.iter().map(|bytes| uuid("append", bytes)).collect::<Result<_, _>>()?)
}

/// Writes the stream's head for an append of `count` events and returns the new version, or
/// the conflict.
async fn move_head(
    store: &Inner,
    tx: &mut MysqlTx,
    stream: &StreamId,
    expected: ExpectedVersion,
    count: u64,
) -> Result<u64, StoreError> {
    let key = [stream.bounded_context_column(), stream.aggregate_type(), stream.aggregate_id()];
    let by = to_bigint("event count", count)?;
    match expected {
        ExpectedVersion::NoStream | ExpectedVersion::Exact(0) => {
            let created = sqlx::query(AssertSqlSafe(store.sql.create_head.clone()))
                .bind(key[0])
                .bind(key[1])
                .bind(key[2])
                .bind(by)
                .execute(&mut **tx)
                .await;
            match created {
                Ok(_) => Ok(count),
                Err(err) if error_number(&err) == Some(DUPLICATE_ENTRY) => {
                    Err(conflict(store, tx, stream, expected).await)
                }
                Err(err) => Err(failure("append", err).into()),
            }
        }
        ExpectedVersion::Exact(version) => {
            let moved = sqlx::query(AssertSqlSafe(store.sql.move_head.clone()))
                .bind(by)
                .bind(key[0])
                .bind(key[1])
                .bind(key[2])
                .bind(to_bigint("expected version", version)?)
                .execute(&mut **tx)
                .await
                .during("append")?;
            if moved.rows_affected() == 0 {
                return Err(conflict(store, tx, stream, expected).await);
            }
            Ok(version + count)
        }
        ExpectedVersion::Any => {
            let upserted = sqlx::query(AssertSqlSafe(store.sql.upsert_head.clone()))
                .bind(key[0])
                .bind(key[1])
                .bind(key[2])
                .bind(by)
                .execute(&mut **tx)
                .await
                .during("append")?;
            // One affected row: a new head; two: a moved one, its version in LAST_INSERT_ID.
            if upserted.rows_affected() == 1 { Ok(count) } else { Ok(upserted.last_insert_id()) }
        }
    }
}

async fn head_version(
    store: &Inner,
    tx: &mut MysqlTx,
    stream: &StreamId,
) -> Result<Option<u64>, StoreError> {
    let version: Option<i64> = sqlx::query_scalar(AssertSqlSafe(store.sql.head_version.clone()))
        .bind(stream.bounded_context_column())
        .bind(stream.aggregate_type())
        .bind(stream.aggregate_id())
        .fetch_optional(&mut **tx)
        .await
        .during("append")?;
    Ok(version.map(|v| from_bigint("append", v)).transpose()?)
}

/// The head refused the append. A retry racing its own first attempt waited on the first
/// attempt's head row, and once that committed its events are visible to a new statement (READ
/// COMMITTED): it must report the duplicate, not the conflict.
async fn refused(
    store: &Inner,
    tx: &mut MysqlTx,
    stream: StreamId,
    events: &[Event],
    err: StoreError,
) -> StoreError {
    if !matches!(err, StoreError::Conflict { .. }) {
        return err;
    }
    match existing_ids(store, tx, events).await {
        Ok(event_ids) if !event_ids.is_empty() => {
            StoreError::DuplicateEventId { stream, event_ids }
        }
        Ok(_) => err,
        Err(probe) => probe,
    }
}

/// The insert met an event id already stored: names the ids found (all of the append's, if the
/// other copy is not visible yet).
async fn duplicate(
    store: &Inner,
    tx: &mut MysqlTx,
    stream: StreamId,
    events: &[Event],
) -> StoreError {
    match existing_ids(store, tx, events).await {
        Ok(found) if !found.is_empty() => StoreError::DuplicateEventId { stream, event_ids: found },
        Ok(_) => {
            let event_ids = events.iter().map(|e| e.event_id).collect();
            StoreError::DuplicateEventId { stream, event_ids }
        }
        Err(probe) => probe,
    }
}

async fn conflict(
    store: &Inner,
    tx: &mut MysqlTx,
    stream: &StreamId,
    expected: ExpectedVersion,
) -> StoreError {
    match head_version(store, tx, stream).await {
        Ok(actual) => {
            StoreError::Conflict { stream: stream.clone(), expected, actual: actual.unwrap_or(0) }
        }
        Err(err) => err,
    }
}

//! Appending: validation, one statement, and the mapping of its outcome to typed errors.
//!
//! The statement runs on a connection, in the caller's transaction or on its own in autocommit
//! (`append_committed`): being one statement, it is atomic either way.

use pupsourcing::spi::prepare_append;
use pupsourcing::{AppendResult, Event, ExpectedVersion, PersistedEvent, StoreError, StreamId};
use pupsourcing_migrations::{EVENT_ID_KEY_SUFFIX, STREAM_VERSION_KEY_SUFFIX};
use sqlx::Row;
use sqlx::postgres::{PgConnection, PgDatabaseError};
use uuid::Uuid;

use super::Inner;
use super::sql::Rows;
use crate::PgDatabase;
use crate::convert::{from_bigint, row_limit, to_bigint, to_int};
use crate::error::{Context, UNIQUE_VIOLATION, failure, sqlstate};

pub(crate) async fn append(
    store: &Inner,
    conn: &mut PgConnection,
    expected: ExpectedVersion,
    mut events: Vec<Event>,
) -> Result<AppendResult, StoreError> {
    let stream = prepare_append(&mut events, expected, store.config.limits())?;
    let (appended, xid) = write(store, conn, stream, expected, events).await?;
    if let (Some(channel), Some(last), Some(xid)) =
        (store.config.notify_channel(), appended.events().last(), xid)
    {
        store.notifier.after_commit(store.db.pool(), channel, xid, last.global_position);
    }
    Ok(appended)
}

/// The append in autocommit on a connection from `db`'s pool, taken once the input has passed
/// validation. Its wake-up goes out after the commit, through the store's
/// [`Notifier`](super::notifier::Notifier), as does an in-transaction append's once its
/// transaction has committed.
pub(crate) async fn append_committed(
    store: &Inner,
    db: &PgDatabase,
    expected: ExpectedVersion,
    mut events: Vec<Event>,
) -> Result<AppendResult, StoreError> {
    let stream = prepare_append(&mut events, expected, store.config.limits())?;
    let mut conn = db.pool().acquire().await.during("append")?;
    let (appended, _) = write(store, &mut conn, stream, expected, events).await?;
    if let (Some(channel), Some(last)) = (store.config.notify_channel(), appended.events().last()) {
        store.notifier.committed(store.db.pool(), channel, last.global_position);
    }
    Ok(appended)
}

/// The append statement, and the id of the transaction it ran in.
async fn write(
    store: &Inner,
    conn: &mut PgConnection,
    stream: StreamId,
    expected: ExpectedVersion,
    events: Vec<Event>,
) -> Result<(AppendResult, Option<i64>), StoreError> {
    let count = row_limit(events.len());
    let event_versions = events
        .iter()
        .map(|e| to_int("event version", e.event_version))
        .collect::<Result<Vec<_>, _>>()?;
    // Metadata travels as JSON text into a `json` column, which keeps it as written.
    let metadata: Vec<String> = events.iter().map(|e| e.metadata.to_string()).collect();

    let statement = |rows| {
        sqlx::query(store.sql.append(expected, rows))
            .bind(stream.bounded_context_column())
            .bind(stream.aggregate_type())
            .bind(stream.aggregate_id())
            .bind(count)
    };
    let mut query = match (events.as_slice(), event_versions.as_slice(), metadata.as_slice()) {
        ([event], [event_version], [metadata]) => statement(Rows::One)
            .bind(event.event_id)
            .bind(event.event_type.as_str())
            .bind(*event_version)
            .bind(event.payload.as_slice())
            .bind(metadata.as_str())
            .bind(event.created_at)
            .bind(event.trace_id.as_deref())
            .bind(event.correlation_id.as_deref())
            .bind(event.causation_id.as_deref()),
        _ => statement(Rows::Arrays)
            .bind(events.iter().map(|e| e.event_id).collect::<Vec<_>>())
            .bind(events.iter().map(|e| e.event_type.as_str()).collect::<Vec<_>>())
            .bind(event_versions.as_slice())
            .bind(events.iter().map(|e| e.payload.as_slice()).collect::<Vec<_>>())
            .bind(metadata.as_slice())
            .bind(events.iter().map(|e| e.created_at).collect::<Vec<_>>())
            .bind(events.iter().map(|e| e.trace_id.as_deref()).collect::<Vec<_>>())
            .bind(events.iter().map(|e| e.correlation_id.as_deref()).collect::<Vec<_>>())
            .bind(events.iter().map(|e| e.causation_id.as_deref()).collect::<Vec<_>>()),
    };
    query = query.bind(to_bigint("stream hash", stream.partition_hash())?);
    if let ExpectedVersion::Exact(version @ 1..) = expected {
        query = query.bind(to_bigint("expected version", version)?);
    }

    let row = match query.fetch_one(&mut *conn).await {
        Ok(row) => row,
        Err(err) => return Err(unique_violation(store, &stream, expected, &events, err)),
    };
    let head: Option<i64> = row.try_get(0).during("append")?;
    let mut positions: Vec<i64> = row.try_get(1).during("append")?;
    let xid: Option<i64> = row.try_get(2).during("append")?;
    positions.sort_unstable();

    let Some(head) = head else {
        return Err(conflict(store, conn, stream, expected, &events).await);
    };
    let to_version = from_bigint("append", head)?;
    let first_version =
        (to_version + 1).saturating_sub(u64::try_from(events.len()).unwrap_or(u64::MAX));
    let persisted = events
        .into_iter()
        .zip(positions)
        .zip(first_version..)
        .map(|((event, position), version)| {
            Ok(PersistedEvent {
                event,
                global_position: from_bigint("append", position)?,
                aggregate_version: version,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((AppendResult::new(stream, persisted), xid))
}

/// The append wrote nothing: an event id exists, or the stream head refused the write. Reads, in
/// a fresh statement (a new snapshot under READ COMMITTED), which ids exist and the version that
/// won: a retried append racing its own first attempt must report the duplicate, not a conflict.
async fn conflict(
    store: &Inner,
    conn: &mut PgConnection,
    stream: StreamId,
    expected: ExpectedVersion,
    events: &[Event],
) -> StoreError {
    let probe = sqlx::query(store.sql.conflict_probe.clone())
        .bind(stream.bounded_context_column())
        .bind(stream.aggregate_type())
        .bind(stream.aggregate_id())
        .bind(events.iter().map(|e| e.event_id).collect::<Vec<_>>())
        .fetch_one(&mut *conn)
        .await
        .during("append");
    let decoded = probe.and_then(|row| {
        let actual: i64 = row.try_get(0).during("append")?;
        let duplicates: Vec<Uuid> = row.try_get(1).during("append")?;
        Ok((actual, duplicates))
    });
    match decoded {
        Ok((_, duplicates)) if !duplicates.is_empty() => {
            StoreError::DuplicateEventId { stream, event_ids: duplicates }
        }
        Ok((actual, _)) => match from_bigint("append", actual) {
            Ok(actual) => StoreError::Conflict { stream, expected, actual },
            Err(failure) => failure.into(),
        },
        Err(failure) => failure.into(),
    }
}

/// Maps a unique violation that slipped past the statement's own checks. That happens only when
/// a concurrent transaction inserted the same event id and committed while we waited on it, or
/// when the stream heads are out of step with the events (the database's safety net). The
/// transaction is aborted, so nothing more can be read: the colliding key comes from the error
/// detail, whose key values are printed verbatim whatever the server's language.
fn unique_violation(
    store: &Inner,
    stream: &StreamId,
    expected: ExpectedVersion,
    events: &[Event],
    err: sqlx::Error,
) -> StoreError {
    if sqlstate(&err).as_deref() == Some(UNIQUE_VIOLATION) {
        let events_table = store.config.tables().events();
        let constraint = err.as_database_error().and_then(|db| db.constraint());
        let detail = err
            .as_database_error()
            .and_then(|db| db.try_downcast_ref::<PgDatabaseError>())
            .and_then(PgDatabaseError::detail)
            .unwrap_or_default();
        if constraint == Some(events_table.with_suffix(EVENT_ID_KEY_SUFFIX).as_str()) {
            let batch: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
            let found: Vec<Uuid> = uuids_in(detail).filter(|id| batch.contains(id)).collect();
            let event_ids = if found.is_empty() { batch } else { found };
            return StoreError::DuplicateEventId { stream: stream.clone(), event_ids };
        }
        if constraint == Some(events_table.with_suffix(STREAM_VERSION_KEY_SUFFIX).as_str()) {
            let attempted = expected.required_version().unwrap_or(0) + 1;
            let actual = last_number_in(detail).unwrap_or(attempted);
            return StoreError::Conflict { stream: stream.clone(), expected, actual };
        }
    }
    failure("append", err).into()
}

fn uuids_in(text: &str) -> impl Iterator<Item = Uuid> + '_ {
    (0..text.len().saturating_sub(35))
        .filter_map(move |start| text.get(start..start + 36))
        .filter_map(|candidate| Uuid::try_parse(candidate).ok())
}

fn last_number_in(text: &str) -> Option<u64> {
    text.split(|c: char| !c.is_ascii_digit())
        .rfind(|run| !run.is_empty())
        .and_then(|run| run.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_key_values_in_a_unique_violation_detail() {
        let id = Uuid::now_v7();
        let detail = format!("Key (event_id)=({id}) already exists.");
        assert_eq!(uuids_in(&detail).collect::<Vec<_>>(), vec![id]);
        let detail = "Key (bounded_context, aggregate_type, aggregate_id, aggregate_version)=(, t, 12, 7) already exists.";
        assert_eq!(last_number_in(detail), Some(7));
        assert_eq!(last_number_in("no digits"), None);
    }
}

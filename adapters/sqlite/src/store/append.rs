//! Appending inside the caller's `BEGIN IMMEDIATE` transaction.
//!
//! The transaction already holds SQLite's write lock, so the version check and the inserts cannot
//! race with another writer. They run under a savepoint: a failure half-way (a duplicate event id
//! on the third event, say) is undone at once and leaves the caller's transaction as it was.

use std::sync::Arc;

use pupsourcing::spi::prepare_append;
use pupsourcing::{AppendResult, Event, ExpectedVersion, PersistedEvent, StoreError, StreamId};
use rusqlite::{Connection, Savepoint, params};
use uuid::Uuid;

use super::Inner;
use crate::convert::{from_integer, timestamp_text, to_integer};
use crate::error::{Context, failure, unique_violation_columns};
use crate::{SqliteDatabase, SqliteTx};

pub(crate) async fn append(
    store: &Arc<Inner>,
    tx: &mut SqliteTx,
    expected: ExpectedVersion,
    mut events: Vec<Event>,
) -> Result<AppendResult, StoreError> {
    let stream = prepare_append(&mut events, expected, store.config.limits())?;
    let store = Arc::clone(store);
    let result =
        tx.run("append", move |conn| write(&store, conn, stream, expected, events)).await?;
    if let Some(first) = result.events().first() {
        tx.note_appended(first.global_position);
    }
    Ok(result)
}

/// The append in a transaction of its own, begun and committed in the same blocking call.
pub(crate) async fn append_committed(
    store: &Arc<Inner>,
    db: &SqliteDatabase,
    expected: ExpectedVersion,
    mut events: Vec<Event>,
) -> Result<AppendResult, StoreError> {
    let stream = prepare_append(&mut events, expected, store.config.limits())?;
    let store = Arc::clone(store);
    db.write_once("append", move |conn| write(&store, conn, stream, expected, events)).await
}

fn write(
    store: &Inner,
    conn: &mut Connection,
    stream: StreamId,
    expected: ExpectedVersion,
    events: Vec<Event>,
) -> Result<AppendResult, StoreError> {
    let mut savepoint = conn.savepoint_with_name("pupsourcing_append").during("append")?;
    let sql = &store.sql;
    let ids: Vec<Uuid> = events.iter().map(|event| event.event_id).collect();

    let head = [stream.bounded_context_column(), stream.aggregate_type(), stream.aggregate_id()];
    let current: Option<i64> = sql
        .stream_version
        .optional_row(&savepoint, &super::read::stream_args(&stream), |row| row.get(0))
        .during("append")?;
    let current = current.map_or(Ok(0), from_integer).during("append")?;
    if !expected.admits(current) {
        let event_ids = stored_ids(store, &savepoint, &ids)?;
        if !event_ids.is_empty() {
            return Err(StoreError::DuplicateEventId { stream, event_ids });
        }
        return Err(StoreError::Conflict { stream, expected, actual: current });
    }

    let stream_hash = to_integer("stream hash", stream.partition_hash())?;
    let mut persisted = Vec::with_capacity(events.len());
    {
        let mut insert = savepoint.prepare_cached(&sql.insert_event).during("append")?;
        for (version, event) in (current + 1..).zip(events) {
            let metadata = event.metadata.to_string();
            let inserted = insert.execute(params![
                stream.bounded_context_column(),
                stream.aggregate_type(),
                stream.aggregate_id(),
                to_integer("version", version)?,
                event.event_id.to_string(),
                &event.event_type,
                event.event_version,
                &event.payload,
                metadata,
                timestamp_text(&event.created_at),
                &event.trace_id,
                &event.correlation_id,
                &event.causation_id,
                stream_hash,
            ]);
            if let Err(err) = inserted {
                drop(insert);
                let err = constraint_error(store, &stream, expected, current, &event, err);
                return Err(name_every_duplicate(store, &mut savepoint, &ids, err));
            }
            let position = from_integer(savepoint.last_insert_rowid()).during("append")?;
            persisted.push(PersistedEvent {
                event,
                global_position: position,
                aggregate_version: version,
            });
        }
    }
    let new_version =
        to_integer("version", current + u64::try_from(persisted.len()).unwrap_or(u64::MAX))?;
    savepoint
        .prepare_cached(&sql.upsert_head)
        .and_then(|mut upsert| upsert.execute(params![head[0], head[1], head[2], new_version]))
        .during("append")?;
    let result = AppendResult::new(stream, persisted);
    savepoint.commit().during("append")?;
    Ok(result)
}

/// The unique index names the one id that collided; a duplicate error should name every stored
/// id of the call. The call's own rows are undone first, or they would count as stored. If that
/// fails, SQLite has already rolled the transaction back, and the one id stands.
fn name_every_duplicate(
    store: &Inner,
    savepoint: &mut Savepoint<'_>,
    ids: &[Uuid],
    err: StoreError,
) -> StoreError {
    let StoreError::DuplicateEventId { stream, event_ids } = err else { return err };
    let stored = match savepoint.rollback() {
        Ok(()) => stored_ids(store, savepoint, ids).unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let event_ids = if stored.is_empty() { event_ids } else { stored };
    StoreError::DuplicateEventId { stream, event_ids }
}

/// The ids among `ids` that are already stored. Probed only once an append has failed: the
/// unique index on event ids refuses duplicates on the way in, so a successful append never
/// pays for the look-ups.
fn stored_ids(store: &Inner, conn: &Connection, ids: &[Uuid]) -> Result<Vec<Uuid>, StoreError> {
    let mut exists = conn.prepare_cached(&store.sql.event_id_exists).during("append")?;
    let mut stored = Vec::new();
    for id in ids {
        if exists.query_row([id.to_string()], |row| row.get::<_, bool>(0)).during("append")? {
            stored.push(*id);
        }
    }
    Ok(stored)
}

/// A unique index refused a row although the version check passed: the heads are out of step
/// with the events (a foreign writer, manual edits). Matched by index, so a NOT NULL or CHECK
/// failure is never mistaken for a conflict or a duplicate.
fn constraint_error(
    store: &Inner,
    stream: &StreamId,
    expected: ExpectedVersion,
    current: u64,
    event: &Event,
    err: rusqlite::Error,
) -> StoreError {
    let events = store.config.tables().events().as_str();
    match unique_violation_columns(&err) {
        Some(columns) if columns == format!("{events}.event_id") => {
            StoreError::DuplicateEventId { stream: stream.clone(), event_ids: vec![event.event_id] }
        }
        Some(columns) if columns.ends_with(&format!("{events}.aggregate_version")) => {
            StoreError::Conflict { stream: stream.clone(), expected, actual: current + 1 }
        }
        _ => failure("append", err).into(),
    }
}

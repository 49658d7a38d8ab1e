//! Small helpers shared by scenarios.

use pupsourcing::{
    AppendResult, Database, Event, EventStore, EventStoreExt, ExpectedVersion, PersistedEvent,
    StoreError, Stream, StreamId,
};
use uuid::Uuid;

/// A stream no other scenario or run uses.
pub(crate) fn unique_stream(aggregate_type: &str) -> StreamId {
    StreamId::new(aggregate_type, Uuid::new_v4().to_string())
}

/// A small event whose payload names `label`.
pub(crate) fn event(stream: &StreamId, label: &str) -> Event {
    Event::new(
        stream,
        "Happened",
        format!("{{\"label\":\"{label}\"}}").into_bytes(),
    )
}

/// `count` small events of `stream`.
pub(crate) fn events(stream: &StreamId, count: usize) -> Vec<Event> {
    (0..count).map(|i| event(stream, &i.to_string())).collect()
}

/// Appends in a transaction of its own.
pub(crate) async fn append<D: Database, S: EventStore<D>>(
    db: &D,
    store: &S,
    expected: ExpectedVersion,
    events: Vec<Event>,
) -> Result<AppendResult, StoreError> {
    store.append_committed(db, expected, events).await
}

/// Reads a whole stream in a transaction of its own.
pub(crate) async fn read<D: Database, S: EventStore<D>>(
    db: &D,
    store: &S,
    stream: &StreamId,
) -> Stream {
    let mut tx = db.begin_read().await.expect("begin_read");
    let read = store
        .read_full_stream(&mut tx, stream)
        .await
        .expect("read_stream");
    db.rollback(tx).await.expect("rollback");
    read
}

/// The stream's version, in a transaction of its own.
pub(crate) async fn version<D: Database, S: EventStore<D>>(
    db: &D,
    store: &S,
    stream: &StreamId,
) -> u64 {
    let mut tx = db.begin_read().await.expect("begin_read");
    let version = store
        .stream_version(&mut tx, stream)
        .await
        .expect("stream_version");
    db.rollback(tx).await.expect("rollback");
    version
}

/// The whole global log, in a transaction of its own.
pub(crate) async fn global_log<D: Database, S: EventStore<D>>(
    db: &D,
    store: &S,
) -> Vec<PersistedEvent> {
    let mut tx = db.begin_read().await.expect("begin_read");
    let mut all = Vec::new();
    loop {
        let after = all.last().map_or(0, |e: &PersistedEvent| e.global_position);
        let page = store
            .read_events(&mut tx, after, 500)
            .await
            .expect("read_events");
        if page.is_empty() {
            break;
        }
        all.extend(page);
    }
    db.rollback(tx).await.expect("rollback");
    all
}

/// Panics unless `result` is a conflict reporting `actual`.
#[track_caller]
pub(crate) fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, actual: u64) {
    match result {
        Err(StoreError::Conflict {
            actual: reported, ..
        }) => {
            assert_eq!(
                reported, actual,
                "conflict should report the stream's version"
            )
        }
        other => panic!("expected a version conflict at {actual}, got {other:?}"),
    }
}

/// Panics unless `result` is a duplicate-event-id error naming exactly `ids`.
#[track_caller]
pub(crate) fn assert_duplicate<T: std::fmt::Debug>(result: Result<T, StoreError>, ids: &[Uuid]) {
    match result {
        Err(StoreError::DuplicateEventId { event_ids, .. }) => {
            let mut reported = event_ids.clone();
            let mut expected = ids.to_vec();
            reported.sort();
            expected.sort();
            assert_eq!(
                reported, expected,
                "duplicate error should name the stored ids"
            );
        }
        other => panic!("expected DuplicateEventId for {ids:?}, got {other:?}"),
    }
}

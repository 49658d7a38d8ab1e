//! Small helpers shared by scenarios.

use pupsourcing::{
    AppendResult, Database, Event, EventStore, EventStoreExt, ExpectedVersion, LogQuery,
    PersistedEvent, StoreError, Stream, StreamId,
};
use uuid::Uuid;

/// A stream no other scenario or run uses.
pub(crate) fn unique_stream(aggregate_type: &str) -> StreamId {
    StreamId::new(aggregate_type, Uuid::new_v4().to_string())
}

/// A small event whose payload names `label`.
pub(crate) fn event(stream: &StreamId, label: &str) -> Event {
    Event::new(stream, "Happened", format!("{{\"label\":\"{label}\"}}").into_bytes())
}

/// `count` small events of `stream`.
pub(crate) fn events(stream: &StreamId, count: usize) -> Vec<Event> {
    (0..count).map(|i| event(stream, &i.to_string())).collect()
}

/// Appends in a transaction of its own ([`EventStore::append_committed`]).
pub(crate) async fn append<D: Database, S: EventStore<D>>(
    db: &D,
    store: &S,
    expected: ExpectedVersion,
    events: Vec<Event>,
) -> Result<AppendResult, StoreError> {
    store.append_committed(db, expected, events).await
}

/// Appends inside a transaction begun here: begin, [`EventStore::append`], commit (rolled back
/// on failure). The path of a caller that writes more in the same transaction.
pub(crate) async fn append_in_transaction<D: Database, S: EventStore<D>>(
    db: &D,
    store: &S,
    expected: ExpectedVersion,
    events: Vec<Event>,
) -> Result<AppendResult, StoreError> {
    pupsourcing::spi::append_in_own_transaction(store, db, expected, events).await
}

/// Writer `index`'s way of appending: even writers append inside a transaction, odd ones with
/// [`EventStore::append_committed`], so concurrent scenarios race both paths against each other.
pub(crate) async fn append_as_writer<D: Database, S: EventStore<D>>(
    index: usize,
    db: &D,
    store: &S,
    expected: ExpectedVersion,
    events: Vec<Event>,
) -> Result<AppendResult, StoreError> {
    if index.is_multiple_of(2) {
        append_in_transaction(db, store, expected, events).await
    } else {
        append(db, store, expected, events).await
    }
}

/// Reads a whole stream in a read transaction of its own.
pub(crate) async fn read<D: Database, S: EventStore<D>>(
    db: &D,
    store: &S,
    stream: &StreamId,
) -> Stream {
    let mut tx = db.begin_read().await.expect("begin_read");
    let read = store.read_full_stream(&mut tx, stream).await.expect("read_stream");
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
    let version = store.stream_version(&mut tx, stream).await.expect("stream_version");
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
        let page = store.read_events(&mut tx, after, 500).await.expect("read_events");
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
        Err(StoreError::Conflict { actual: reported, .. }) => {
            assert_eq!(reported, actual, "conflict should report the stream's version")
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
            assert_eq!(reported, expected, "duplicate error should name the stored ids");
        }
        other => panic!("expected DuplicateEventId for {ids:?}, got {other:?}"),
    }
}

/// A small deterministic generator for workload randomness (delays, choices), seeded per task.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// A number in `0..bound` (`bound > 0`).
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

/// Follows the safe frontier like a consumer: advance, read up to the frontier, continue after
/// the last event read or from the frontier when the page was not full.
pub(crate) struct FrontierReader {
    pub(crate) checkpoint: u64,
    pub(crate) seen: Vec<pupsourcing::PersistedEvent>,
}

impl FrontierReader {
    pub(crate) fn new() -> Self {
        Self { checkpoint: 0, seen: Vec::new() }
    }

    /// One step; returns the frontier it read up to.
    pub(crate) async fn step<D: Database, S: EventStore<D>>(&mut self, db: &D, store: &S) -> u64 {
        const PAGE: usize = 200;
        store.advance_frontier().await.expect("advance_frontier");
        let mut tx = db.begin_read().await.expect("begin_read");
        let frontier = store.safe_frontier(&mut tx).await.expect("safe_frontier");
        assert!(frontier >= self.checkpoint, "the frontier went below a checkpoint already taken");
        let page = store
            .read_events_until(
                &mut tx,
                &LogQuery::up_to(frontier).after(self.checkpoint).limit(PAGE),
            )
            .await
            .expect("read_events_until");
        db.rollback(tx).await.expect("rollback");
        for event in &page {
            assert!(event.global_position > self.checkpoint && event.global_position <= frontier);
            self.checkpoint = event.global_position;
        }
        if page.len() < PAGE {
            self.checkpoint = frontier;
        }
        self.seen.extend(page);
        frontier
    }
}

/// The versions between two optional inclusive bounds, as a model or a table of cases states them.
pub(crate) fn range(from: Option<u64>, to: Option<u64>) -> pupsourcing::Versions {
    use std::ops::Bound::{Included, Unbounded};
    (from.map_or(Unbounded, Included), to.map_or(Unbounded, Included)).into()
}

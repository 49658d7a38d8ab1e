//! The event store port: an append-only log of streams with optimistic concurrency.
//!
//! Two orders matter. Inside a stream, events have versions 1, 2, 3, ... with no gaps, and an
//! append names the version it expects the stream to be at ([`ExpectedVersion`]), so two writers
//! deciding on the same state cannot both win. Across streams, every event has a global position;
//! consumers read the global log in position order.

mod append;
mod error;
mod ext;
mod frontier;
mod read;
mod version;
pub(crate) mod walk;

use async_trait::async_trait;

pub(crate) use append::check_name;
pub use append::{
    AppendLimits, AppendResult, MAX_EVENT_VERSION, MAX_METADATA_DEPTH, MAX_POSITION,
    check_position, prepare_append,
};
pub use error::{InputError, StoreError};
pub use ext::EventStoreExt;
pub use frontier::{FrontierConfig, FrontierStatus, OpenHole};
pub use read::{EventFilter, LogQuery, Versions};
pub use version::ExpectedVersion;

use crate::{Database, Event, PersistedEvent, Stream, StreamId};

/// An append-only event log living in database `D`, used inside the caller's transactions.
///
/// # Contract
/// Every adapter passes the scenarios of `pupsourcing-conformance`, which check this list.
///
/// - **Atomic appends.** [`append`](EventStore::append) stores all events of the call or none.
///   They all belong to one stream and get consecutive versions following the stream's current
///   version (the first event of a stream is version 1).
/// - **Optimistic concurrency.** The stream must satisfy `expected` at the time of the write,
///   else [`StoreError::Conflict`]. Of concurrent writers with the same `Exact(n)` exactly one
///   wins; concurrent `Any` writers queue and all succeed. The database enforces
///   unique `(stream, version)` itself as a second line of defence.
/// - **Idempotency.** An event id that is already stored makes the append fail with
///   [`StoreError::DuplicateEventId`]; this check comes before the version check, so retrying an
///   append that did commit reports the duplicate, never a conflict.
/// - **Validation first.** Bad input (see [`prepare_append`]) fails with
///   [`StoreError::InvalidInput`] before any statement runs.
/// - **Visibility.** Writes become visible to others when the caller commits its transaction;
///   the transaction sees its own writes at once. After an error the caller must roll back.
/// - **Without a transaction.** [`append_committed`](EventStore::append_committed) and
///   [`read_stream_committed`](EventStore::read_stream_committed) give exactly what `append`
///   and `read_stream` give in a transaction of their own; an adapter overrides them only to
///   take fewer round trips.
/// - **Round trip.** Every field of the events an append returns reads back exactly so, on every
///   backend: payload bytes as they are (never parsed), metadata with the same JSON text (every
///   finite number keeps its form: `1e16` stays a float, `-0.0` keeps its sign), timestamps in
///   UTC at microsecond precision, with a leap second folded into the next second
///   ([`normalize_timestamp`](crate::normalize_timestamp)). Whatever an append accepts can be
///   read back: metadata deeper than [`MAX_METADATA_DEPTH`](crate::MAX_METADATA_DEPTH) is refused.
/// - **Arguments at the edges.** Reads take any `limit` (a limit beyond the rows stored means
///   "all") and any inclusive upper bound (the last of [`Versions`], [`LogQuery::up_to`]: beyond
///   the largest storable position means "no bound"). Lower bounds (the first of `Versions`,
///   `after`) above
///   [`MAX_POSITION`](crate::MAX_POSITION) are refused with [`InputError::OutOfRange`]. No read
///   panics.
/// - **Rows it cannot decode.** A stored row the store cannot decode (written by another tool or
///   changed by hand) fails every read that meets it with [`StoreError::UnreadableEvent`], which
///   names its position; reads that stop before it or start after it are unaffected.
/// - **Failures.** Database failures are [`StoreError::Backend`], classified by the adapter
///   (serialization failures, deadlocks and busy databases are retryable; a missing table is a
///   schema error whose message names it).
#[async_trait]
pub trait EventStore<D: Database>: Send + Sync + 'static {
    /// Appends `events` (one stream, at least one event) if the stream satisfies `expected`.
    async fn append(
        &self,
        tx: &mut D::Tx,
        expected: ExpectedVersion,
        events: Vec<Event>,
    ) -> Result<AppendResult, StoreError>;

    /// Reads the events of `stream` whose versions are in `versions`, in version order:
    /// `read_stream(tx, &id, (5..=10).into())`, or `Versions::all()` for the whole stream. An
    /// unknown stream reads as empty.
    async fn read_stream(
        &self,
        tx: &mut D::Tx,
        stream: &StreamId,
        versions: Versions,
    ) -> Result<Stream, StoreError>;

    /// The current version of `stream`: 0 if it has no event.
    async fn stream_version(&self, tx: &mut D::Tx, stream: &StreamId) -> Result<u64, StoreError>;

    /// Up to `limit` events with a global position greater than `after`, in position order, as
    /// visible to `tx` right now.
    ///
    /// This is the raw log: on a backend with concurrent writers a transaction that committed
    /// later may still fill a lower position afterwards, so a reader that remembers "the last
    /// position I saw" can skip events. Consumers use
    /// [`read_events_until`](EventStore::read_events_until) with the safe frontier instead.
    async fn read_events(
        &self,
        tx: &mut D::Tx,
        after: u64,
        limit: usize,
    ) -> Result<Vec<PersistedEvent>, StoreError>;

    /// The highest global position visible to `tx`, or 0 for an empty log.
    async fn latest_position(&self, tx: &mut D::Tx) -> Result<u64, StoreError>;

    /// The safe frontier as persisted: every position at or below it is committed and visible,
    /// or will never be. It never moves backwards and never counts `tx`'s own uncommitted
    /// appends.
    async fn safe_frontier(&self, tx: &mut D::Tx) -> Result<u64, StoreError>;

    /// Moves the safe frontier as far as it provably can, in a transaction of its own, and
    /// reports where it stands. Any process may call it at any time; concurrent callers never move
    /// it backwards. Single-writer backends have nothing to prove and only report.
    async fn advance_frontier(&self) -> Result<FrontierStatus, StoreError>;

    /// The events `query` asks for: `after < position <= up_to`, passing its filter, in position
    /// order, at most its limit. With `up_to` taken from
    /// [`safe_frontier`](EventStore::safe_frontier), a reader that continues from the last
    /// position it processed (or from `up_to` when nothing matched) sees every event exactly
    /// once.
    async fn read_events_until(
        &self,
        tx: &mut D::Tx,
        query: &LogQuery,
    ) -> Result<Vec<PersistedEvent>, StoreError>;

    /// Appends in a transaction of its own, committed when it returns `Ok`: for the common
    /// command that appends and writes nothing else. The checks, results and errors are those of
    /// [`append`](EventStore::append); after a refusal nothing is stored. As with any commit, a
    /// connection lost during the call (or the call's future dropped) leaves the outcome
    /// unknown: retry with the same event ids, and a stored append reports
    /// [`StoreError::DuplicateEventId`].
    ///
    /// Backends do it in as few round trips as they can: PostgreSQL runs the append as one
    /// autocommit statement (no `BEGIN`/`COMMIT`), SQLite runs begin, append and commit as one
    /// blocking call. The default begins, appends and commits, rolling back on
    /// failure.
    async fn append_committed(
        &self,
        db: &D,
        expected: ExpectedVersion,
        events: Vec<Event>,
    ) -> Result<AppendResult, StoreError> {
        append_in_own_transaction(self, db, expected, events).await
    }

    /// Reads the committed events of `stream` whose versions are in `versions`, for a caller
    /// with no transaction of its own (loading an aggregate before a command, say): the result
    /// is [`read_stream`](EventStore::read_stream)'s in a read transaction that began just now.
    ///
    /// PostgreSQL and MySQL run it as one statement on a pooled connection, SQLite as one
    /// blocking call; the default opens a read transaction and rolls it back.
    async fn read_stream_committed(
        &self,
        db: &D,
        stream: &StreamId,
        versions: Versions,
    ) -> Result<Stream, StoreError> {
        let mut tx = db.begin_read().await?;
        let read = self.read_stream(&mut tx, stream, versions).await;
        // A failed rollback of a read-only transaction loses nothing; the read's outcome stands.
        let _ = db.rollback(tx).await;
        read
    }
}

/// Begin, [`append`](EventStore::append), commit; rolled back on failure. The default of
/// [`EventStore::append_committed`], for adapters whose fast path does not apply to every
/// configuration.
pub async fn append_in_own_transaction<D: Database, S: EventStore<D> + ?Sized>(
    store: &S,
    db: &D,
    expected: ExpectedVersion,
    events: Vec<Event>,
) -> Result<AppendResult, StoreError> {
    let mut tx = db.begin().await?;
    match store.append(&mut tx, expected, events).await {
        Ok(result) => {
            db.commit(tx).await?;
            Ok(result)
        }
        Err(err) => {
            // The append error is what the caller needs; a failed rollback only means the
            // connection is already gone, which the append error reports too.
            let _ = db.rollback(tx).await;
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use mockall::predicate::eq;

    use super::*;
    use crate::mock::{MockDatabase, MockEventStore, MockTx};
    use crate::{BackendError, BackendErrorKind};

    fn database(expect_commit: bool) -> MockDatabase {
        let mut db = MockDatabase::new();
        db.expect_begin().times(1).returning(|| Ok(MockTx));
        if expect_commit {
            db.expect_commit().times(1).returning(|_| Ok(()));
        } else {
            db.expect_rollback().times(1).returning(|_| Ok(()));
        }
        db
    }

    #[tokio::test]
    async fn append_committed_commits_on_success() {
        let stream = StreamId::new("t", "1");
        let event = Event::new(&stream, "E", Vec::new());
        let persisted =
            PersistedEvent { event: event.clone(), global_position: 7, aggregate_version: 1 };
        let mut store = MockEventStore::new();
        store
            .expect_append()
            .with(
                mockall::predicate::always(),
                eq(ExpectedVersion::NoStream),
                eq(vec![event.clone()]),
            )
            .times(1)
            .returning(move |_, _, _| {
                Ok(AppendResult::new(StreamId::new("t", "1"), vec![persisted.clone()]))
            });

        let result = store
            .append_committed(&database(true), ExpectedVersion::NoStream, vec![event])
            .await
            .unwrap();
        assert_eq!(result.global_positions(), vec![7]);
    }

    #[tokio::test]
    async fn append_committed_rolls_back_on_failure() {
        let stream = StreamId::new("t", "1");
        let mut store = MockEventStore::new();
        store.expect_append().times(1).returning(|_, _, _| {
            Err(BackendError::new(BackendErrorKind::Deadlock, "append", "victim").into())
        });

        let err = store
            .append_committed(
                &database(false),
                ExpectedVersion::Any,
                vec![Event::new(&stream, "E", Vec::new())],
            )
            .await
            .unwrap_err();
        assert!(err.is_retryable());
    }

    #[tokio::test]
    async fn read_stream_committed_reads_in_a_read_transaction_of_its_own() {
        let mut db = MockDatabase::new();
        db.expect_begin_read().times(1).returning(|| Ok(MockTx));
        db.expect_rollback().times(1).returning(|_| Ok(()));
        let mut store = MockEventStore::new();
        store
            .expect_read_stream()
            .withf(|_, s, versions| s.aggregate_id() == "1" && *versions == Versions::from(2..))
            .times(1)
            .returning(|_, s, _| Ok(Stream::new(s.clone(), Vec::new())));
        let read = store
            .read_stream_committed(&db, &StreamId::new("t", "1"), Versions::from(2..))
            .await
            .unwrap();
        assert!(read.is_empty());
    }
}

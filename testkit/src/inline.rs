//! Runs a consumer over given events on the memory backend, without a worker.

use pupsourcing::{
    Backend, BackendError, BatchError, Consumer, Database, Event, EventStore, ExpectedVersion,
    StoreError,
};
use pupsourcing_memory::{MemoryBackend, MemoryDatabase};

/// Why an inline run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InlineError {
    /// Appending or reading the events failed (bad input, say).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The memory database refused a transaction.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The consumer failed; the batch was not committed.
    #[error(transparent)]
    Consumer(#[from] BatchError),
}

/// Appends `events` (each to its own stream, in order) to a fresh memory backend, hands them to
/// `consumer` in one batch transaction as the worker would, commits, and returns the backend so
/// that the test can assert the read model (`backend.database().rows(table)`).
///
/// ```
/// use pupsourcing::{Consumer, Event, HandlerError, PersistedEvent, StreamId};
/// use pupsourcing_memory::{MemoryDatabase, MemoryTx};
///
/// struct Names;
///
/// #[pupsourcing::async_trait]
/// impl Consumer<MemoryDatabase> for Names {
///     fn name(&self) -> &str { "names" }
///     async fn handle(&self, tx: &mut MemoryTx, event: &PersistedEvent) -> Result<(), HandlerError> {
///         Ok(tx.upsert("names", event.stream().aggregate_id(), event.event_type().into()).await?)
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let user = StreamId::new("user", "ann");
/// let backend = pupsourcing_testkit::inline::run_consumer(&Names, [
///     Event::new(&user, "Registered", b"{}".to_vec()),
///     Event::new(&user, "Renamed", b"{}".to_vec()),
/// ]).await?;
/// assert_eq!(backend.database().rows("names"), [("ann".to_owned(), "Renamed".into())]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub async fn run_consumer<C>(
    consumer: &C,
    events: impl IntoIterator<Item = Event>,
) -> Result<MemoryBackend, InlineError>
where
    C: Consumer<MemoryDatabase>,
{
    let backend = pupsourcing_memory::open();
    feed(&backend, consumer, events).await?;
    Ok(backend)
}

/// Like [`run_consumer`], on an existing backend (to feed a consumer in several steps).
pub async fn feed<C, S, Co, K>(
    backend: &Backend<MemoryDatabase, S, Co, K>,
    consumer: &C,
    events: impl IntoIterator<Item = Event>,
) -> Result<(), InlineError>
where
    C: Consumer<MemoryDatabase>,
    S: EventStore<MemoryDatabase>,
{
    let (db, store) = (backend.database(), backend.store());
    let mut tx = db.begin_read().await?;
    let after = store.latest_position(&mut tx).await?;
    db.rollback(tx).await?;
    for event in events {
        store.append_committed(db, ExpectedVersion::Any, vec![event]).await?;
    }
    let mut tx = db.begin().await?;
    let stored = store.read_events(&mut tx, after, usize::MAX).await?;
    let handled: Vec<_> =
        stored.into_iter().filter(|event| consumer.filter().matches(&event.event)).collect();
    consumer.handle_batch(&mut tx, &handled).await?;
    Ok(db.commit(tx).await?)
}

//! The consumer API: what an application implements to react to events.

use async_trait::async_trait;

use crate::{BoxError, Database, EventFilter, PersistedEvent};

/// The error a handler returns: any error, boxed. `?` converts most errors into it.
pub type HandlerError = BoxError;

/// A failed batch, with the position of the event that failed when known (the default
/// [`Consumer::handle_batch`] always knows it).
#[derive(Debug, thiserror::Error)]
#[error("handler failed{}", .position.map(|p| format!(" at position {p}")).unwrap_or_default())]
pub struct BatchError {
    position: Option<u64>,
    #[source]
    source: BoxError,
}

impl BatchError {
    /// The event at `position` failed.
    pub fn at(position: u64, source: impl Into<BoxError>) -> Self {
        Self { position: Some(position), source: source.into() }
    }

    /// The batch failed as a whole, on an event the handler cannot name. The first event of the
    /// batch is recorded as failing, and the worker retries the batch one event at a time, so
    /// the unit still ends up stopped right before the event that fails.
    pub fn new(source: impl Into<BoxError>) -> Self {
        Self { position: None, source: source.into() }
    }

    /// The failing event's position, if known.
    pub fn position(&self) -> Option<u64> {
        self.position
    }

    /// The handler's error.
    pub fn cause(&self) -> &BoxError {
        &self.source
    }
}

/// A consumer or projection run by the [`Worker`](crate::Worker).
///
/// # Contract
/// - [`name`](Consumer::name) identifies the consumer's checkpoints: keep it stable. Renaming a
///   consumer starts a new one from the beginning of the log.
/// - Every event that passes [`filter`](Consumer::filter) is delivered exactly once *in its
///   database effects*: the handler runs in the batch transaction, which also moves the
///   checkpoint, so either both commit or neither does. Handlers may run more than once for an
///   event (after a failure or a crash), so side effects outside the transaction must be
///   idempotent.
/// - Events arrive in position order within a partition, so each stream's events arrive in
///   version order. With [`partitions`](Consumer::partitions) `> 1`, streams are spread over
///   partitions (by [`StreamId::partition`](crate::StreamId::partition)) that may run on
///   different nodes in parallel.
/// - The handler receives the backend's transaction (`sqlx::Transaction` on PostgreSQL): write
///   the read model with it, and never commit or roll it back yourself.
/// - An error rolls the whole batch back (read-model writes included). The events before the
///   failing one are then handled again in a batch of their own and committed, so the unit stops
///   right before the failing event. It is retried with exponential back-off; every attempt is
///   recorded in its status (attempts, error, failing position, since when), and after the
///   [`PauseRule`](crate::PauseRule) the unit is paused for an operator to
///   [skip](crate::Admin::skip_failed_event) or resume it. Other consumers keep running.
/// - A failure whose cause is transient (a lost connection, a serialization failure, a busy
///   database, recognized anywhere in the error's source chain, including the driver's own error
///   from the handler's queries) is retried for as long as it lasts and never pauses the unit.
///   Events the store cannot decode fail their batch like a handler error and can be skipped the
///   same way.
#[async_trait]
pub trait Consumer<D: Database>: Send + Sync + 'static {
    /// The consumer's stable name.
    fn name(&self) -> &str;

    /// Which events to receive (aggregate types, bounded contexts), filtered in the database.
    /// Default: every event.
    fn filter(&self) -> EventFilter {
        EventFilter::all()
    }

    /// Into how many partitions to split the consumer's work. Default: 1.
    fn partitions(&self) -> u32 {
        1
    }

    /// Handles one event inside the batch transaction.
    async fn handle(&self, tx: &mut D::Tx, event: &PersistedEvent) -> Result<(), HandlerError>;

    /// Handles a batch (in position order) inside its transaction; override for bulk writes.
    /// The default calls [`handle`](Consumer::handle) for each event.
    async fn handle_batch(
        &self,
        tx: &mut D::Tx,
        events: &[PersistedEvent],
    ) -> Result<(), BatchError> {
        for event in events {
            self.handle(tx, event)
                .await
                .map_err(|err| BatchError::at(event.global_position, err))?;
        }
        Ok(())
    }

    /// Clears the read model before a rebuild, in the transaction that resets the checkpoints.
    /// Default: nothing to clear.
    async fn reset(&self, _tx: &mut D::Tx) -> Result<(), HandlerError> {
        Ok(())
    }
}

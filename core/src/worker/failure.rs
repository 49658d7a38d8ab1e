//! Why a batch failed, and whether that failure may pause its unit.
//!
//! A batch fails either in the consumer's handler or around it (reading or decoding events,
//! claiming or committing the unit). What matters to the unit loop is not where, but whether
//! the cause is transient: a lost connection, a serialization failure or a busy database heal
//! by themselves and must never pause a projection, whereas an event that cannot be decoded or a
//! handler that rejects an event fails the same way on every attempt, and is worth an
//! operator's attention once the pause rule says so. Either kind is recorded, so a unit that
//! cannot make progress always shows why in its status.

use std::error::Error as StdError;

use crate::worker::context::error_chain;
use crate::{
    BackendError, BatchError, Database, EncryptionError, PersistedEvent, StoreError, WorkerError,
};

/// A failed batch.
#[derive(Debug)]
pub(crate) struct Failure {
    /// The error and its sources, as one line for the status table.
    pub(crate) message: String,
    /// The event the batch stopped at, when known.
    pub(crate) position: Option<u64>,
    /// The unit's checkpoint when the batch started.
    pub(crate) checkpoint: u64,
    /// Whether the cause heals by itself (never pauses the unit).
    pub(crate) transient: bool,
    /// When the handler failed without saying on which event: the last event of the failed
    /// batch. Batches of one event up to there find the failing one.
    pub(crate) isolate_until: Option<u64>,
}

impl Failure {
    /// The handler failed on `events`, read after `checkpoint`. Without a position from the
    /// handler, the first event is named: the unit is stuck there.
    pub(crate) fn in_handler<D: Database>(
        err: &BatchError,
        checkpoint: u64,
        events: &[PersistedEvent],
    ) -> Self {
        let range = events.first().zip(events.last());
        let range = range.map(|(first, last)| (first.global_position, last.global_position));
        let mut failure = Self::unplaced(error_chain(err), checkpoint, range);
        failure.transient = is_transient::<D>(err);
        if let Some(position) = err.position() {
            failure.position = Some(position);
        }
        if failure.transient || err.position().is_some() {
            // Placed, or bound to heal by itself: nothing to search for.
            failure.isolate_until = None;
        }
        failure
    }

    /// The handler panicked (a bug, never transient) while handling the events in `range`.
    pub(crate) fn panicked(message: &str, checkpoint: u64, range: Option<(u64, u64)>) -> Self {
        Self::unplaced(format!("handler panicked: {message}"), checkpoint, range)
    }

    /// The handler failed somewhere in `range`: the first event is named, since the unit is
    /// stuck there, and a batch of more than one event is to be retried one event at a time.
    fn unplaced(message: String, checkpoint: u64, range: Option<(u64, u64)>) -> Self {
        Self {
            message,
            position: range.map(|(first, _)| first),
            checkpoint,
            transient: false,
            isolate_until: range.filter(|(first, last)| first != last).map(|(_, last)| last),
        }
    }

    /// A failure around the handler: reading, decoding, claiming or committing.
    pub(crate) fn around<D: Database>(err: &WorkerError, checkpoint: u64) -> Self {
        let position = match err {
            WorkerError::Store(StoreError::UnreadableEvent { position, .. }) => Some(*position),
            _ => None,
        };
        Self {
            message: error_chain(err),
            position,
            checkpoint,
            transient: is_transient::<D>(err),
            isolate_until: None,
        }
    }
}

/// Whether the first error in `err`'s source chain that pupsourcing or the backend's driver can
/// classify is retryable. An error nobody can classify (a handler's own domain error, an HTTP
/// client's) is not: it pauses the unit once the pause rule is met.
pub(crate) fn is_transient<D: Database>(err: &(dyn StdError + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(err) = current {
        if let Some(retryable) = known_retryability::<D>(err) {
            return retryable;
        }
        current = err.source();
    }
    false
}

fn known_retryability<D: Database>(err: &(dyn StdError + 'static)) -> Option<bool> {
    if let Some(err) = err.downcast_ref::<StoreError>() {
        return Some(err.is_retryable());
    }
    if let Some(err) = err.downcast_ref::<BackendError>() {
        return Some(err.is_retryable());
    }
    if let Some(err) = err.downcast_ref::<WorkerError>() {
        return Some(err.is_retryable());
    }
    if let Some(err) = err.downcast_ref::<EncryptionError>() {
        return Some(err.is_retryable());
    }
    D::classify(err).map(|kind| kind.is_retryable())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::MockDatabase;
    use crate::{BackendErrorKind, BatchError, BoxError};

    #[derive(Debug, thiserror::Error)]
    #[error("projection failed")]
    struct Wrapped(#[source] BoxError);

    #[test]
    fn the_first_classifiable_cause_decides() {
        let lost = || BackendError::new(BackendErrorKind::Connection, "query", "reset");
        let wrapped = BatchError::at(3, Wrapped(Box::new(StoreError::from(lost()))));
        assert!(is_transient::<MockDatabase>(&wrapped));

        let data = BackendError::new(BackendErrorKind::Data, "query", "bad");
        assert!(!is_transient::<MockDatabase>(&BatchError::at(3, data)));

        let domain: BoxError = "account is closed".into();
        assert!(!is_transient::<MockDatabase>(&BatchError::new(domain)));
    }

    #[test]
    fn a_handler_failure_without_a_position_isolates_its_batch() {
        let stream = crate::StreamId::new("t", "1");
        let events: Vec<PersistedEvent> = [4, 6, 9]
            .into_iter()
            .zip(1..)
            .map(|(global_position, aggregate_version)| PersistedEvent {
                event: crate::Event::new(&stream, "E", Vec::new()),
                global_position,
                aggregate_version,
            })
            .collect();
        let unplaced = Failure::in_handler::<MockDatabase>(&BatchError::new("bulk"), 3, &events);
        assert_eq!((unplaced.position, unplaced.isolate_until), (Some(4), Some(9)));
        let placed = Failure::in_handler::<MockDatabase>(&BatchError::at(6, "bad"), 3, &events);
        assert_eq!((placed.position, placed.isolate_until), (Some(6), None));
        let single = Failure::panicked("bug", 5, Some((6, 6)));
        assert_eq!((single.position, single.isolate_until), (Some(6), None));
    }

    #[test]
    fn failures_around_the_handler_carry_the_unreadable_position() {
        let source = BackendError::new(BackendErrorKind::Data, "decode", "bad json");
        let err = WorkerError::Store(StoreError::UnreadableEvent { position: 17, source });
        let failure = Failure::around::<MockDatabase>(&err, 9);
        assert_eq!((failure.position, failure.checkpoint), (Some(17), 9));
        assert!(!failure.transient && failure.isolate_until.is_none());
        assert!(failure.message.contains("position 17"), "{}", failure.message);
    }
}

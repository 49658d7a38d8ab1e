//! Errors of the worker and its coordinator.

use crate::{BackendError, InputError, StoreError};

/// Everything the worker, its coordinator and the admin API can fail with. A failing consumer is
/// not among them: handler failures are retried, then pause their unit, and never stop a worker.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    /// The database failed; see [`BackendError::kind`] for the adapter's classification.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The event store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An argument is out of the range the schema stores (a position, epoch or partition count).
    #[error("invalid input: {0}")]
    InvalidInput(#[from] InputError),
    /// A consumer name is empty, too long, or registered twice.
    #[error("invalid consumer {name:?}: {reason}")]
    InvalidConsumer {
        /// The consumer name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An admin operation named a consumer that has no units.
    #[error("unknown consumer {0:?}")]
    UnknownConsumer(String),
    /// An admin operation that needs a stable partitioning hit a consumer being repartitioned.
    #[error("consumer {0:?} is being repartitioned; retry once its old partitions have drained")]
    Repartitioning(String),
    /// A wait for a consumer ended before it got there.
    #[error(
        "consumer {consumer:?} did not reach position {position} in time ({})",
        .reached.map_or_else(|| "it has no units yet: is a worker running it?".to_owned(), |p| format!("it is at {p}"))
    )]
    WaitTimedOut {
        /// The consumer.
        consumer: String,
        /// The position waited for.
        position: u64,
        /// The lowest checkpoint of its units still behind, if it has units.
        reached: Option<u64>,
    },
    /// A wait for a consumer cannot end: a unit that has not got there is paused.
    #[error(
        "consumer {consumer:?} is paused at {checkpoint}{}",
        .error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
    )]
    ConsumerPaused {
        /// The consumer.
        consumer: String,
        /// The paused unit's checkpoint.
        checkpoint: u64,
        /// Its last error, if it was paused by failures.
        error: Option<String>,
    },
    /// A consumer's reset hook failed during a rebuild (nothing was changed).
    #[error("reset hook of consumer {consumer:?} failed")]
    ResetFailed {
        /// The consumer.
        consumer: String,
        /// The hook's error.
        #[source]
        source: crate::BoxError,
    },
}

impl WorkerError {
    /// Whether retrying the operation unchanged may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Backend(err) => err.is_retryable(),
            Self::Store(err) => err.is_retryable(),
            Self::Repartitioning(_) | Self::WaitTimedOut { .. } => true,
            Self::InvalidInput(_)
            | Self::InvalidConsumer { .. }
            | Self::UnknownConsumer(_)
            | Self::ConsumerPaused { .. }
            | Self::ResetFailed { .. } => false,
        }
    }
}

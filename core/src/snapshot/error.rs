use crate::{BackendError, InputError};

/// Why a snapshot operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// A snapshot's stream version is 0 or beyond what the schema stores.
    #[error("snapshot stream version {stream_version} is out of range")]
    OutOfRange {
        /// The version given.
        stream_version: u64,
    },
    /// The serialized state is larger than [`MAX_SNAPSHOT_BYTES`](super::MAX_SNAPSHOT_BYTES).
    #[error("snapshot state of {bytes} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// The state's size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The snapshot's stream has a name no append accepts.
    #[error("invalid snapshot: {0}")]
    InvalidInput(#[from] InputError),
    /// The database failed; see [`BackendError::kind`] for the adapter's classification.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

impl SnapshotError {
    /// Whether retrying in a fresh transaction may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Backend(backend) => backend.is_retryable(),
            Self::OutOfRange { .. } | Self::TooLarge { .. } | Self::InvalidInput(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BackendErrorKind;

    #[test]
    fn only_transient_backend_failures_are_retryable() {
        let busy = SnapshotError::from(BackendError::new(BackendErrorKind::Busy, "save", "locked"));
        assert!(busy.is_retryable());
        assert!(!SnapshotError::OutOfRange { stream_version: 0 }.is_retryable());
    }
}

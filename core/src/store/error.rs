//! Errors of the event store.

use std::fmt;

use uuid::Uuid;

use crate::{BackendError, ExpectedVersion, StreamId};

/// Everything an [`EventStore`](crate::EventStore) call can fail with.
///
/// After any error the caller's transaction must be rolled back (it may already be aborted);
/// nothing the failed call attempted is visible to anyone.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The stream was not at the expected version. Reload the stream, decide again, retry.
    #[error(
        "version conflict on stream {stream}: expected {expected}, stream is at version {actual}"
    )]
    Conflict {
        /// The stream appended to.
        stream: StreamId,
        /// What the caller expected.
        expected: ExpectedVersion,
        /// The stream's version as seen after the conflict.
        actual: u64,
    },
    /// At least one event id is already stored: typically a retry of an append that succeeded.
    /// Checked before the version, so a retried append never reports a conflict.
    #[error("duplicate event id on stream {stream}: {} already stored", IdList(.event_ids))]
    DuplicateEventId {
        /// The stream appended to.
        stream: StreamId,
        /// The ids of the batch found already stored. Never empty. When the duplicate surfaced
        /// through the database's unique constraint (a concurrent append of the same ids that
        /// committed while this one waited), backends may list only the first colliding id.
        event_ids: Vec<Uuid>,
    },
    /// The call was refused before touching the database.
    #[error("invalid input: {0}")]
    InvalidInput(#[from] InputError),
    /// A stored event could not be decoded: a row written by another tool or a later version of
    /// pupsourcing, or changed by hand. Every read that meets the row fails the same way until it
    /// is repaired; a consumer pauses on it, and an operator can skip it with
    /// [`Admin::skip_failed_event`](crate::Admin::skip_failed_event). Not retryable.
    #[error("the event at position {position} cannot be decoded")]
    UnreadableEvent {
        /// The event's global position.
        position: u64,
        /// The decoding failure, classified [`BackendErrorKind::Data`](crate::BackendErrorKind).
        #[source]
        source: BackendError,
    },
    /// The database failed; see [`BackendError::kind`] for the adapter's classification.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

impl StoreError {
    /// Whether retrying the whole transaction unchanged may succeed (serialization failure,
    /// deadlock, busy database, lost connection). A [`StoreError::Conflict`] is not retryable as
    /// is: the caller must reload the stream first.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Backend(backend) => backend.is_retryable(),
            Self::Conflict { .. }
            | Self::DuplicateEventId { .. }
            | Self::InvalidInput(_)
            | Self::UnreadableEvent { .. } => false,
        }
    }
}

struct IdList<'a>(&'a [Uuid]);

impl fmt::Display for IdList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, id) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{id}")?;
        }
        Ok(())
    }
}

/// Why a call was refused before any SQL ran. `index` is the event's position in the batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// `append` was called with no event.
    #[error("append needs at least one event")]
    EmptyAppend,
    /// One append targets exactly one stream.
    #[error("event {index} belongs to stream {found}, but the batch appends to {expected}")]
    MixedStreams {
        /// The stream of the first event.
        expected: Box<StreamId>,
        /// The stream of the offending event.
        found: Box<StreamId>,
        /// The offending event.
        index: usize,
    },
    /// A required text field is empty (a bounded context, when present, must not be empty).
    #[error("event {index}: {field} must not be empty")]
    EmptyField {
        /// The field name.
        field: &'static str,
        /// The offending event.
        index: usize,
    },
    /// A text field contains a NUL character, which PostgreSQL text cannot store.
    #[error("event {index}: {field} contains a NUL character")]
    NulCharacter {
        /// The field name.
        field: &'static str,
        /// The offending event.
        index: usize,
    },
    /// A stream-identity or type field exceeds [`AppendLimits::max_name_bytes`](crate::AppendLimits).
    #[error("event {index}: {field} is {len} bytes, more than the {max} allowed")]
    FieldTooLong {
        /// The field name.
        field: &'static str,
        /// The offending event.
        index: usize,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The event id is the nil UUID.
    #[error("event {index}: event id must not be nil")]
    NilEventId {
        /// The offending event.
        index: usize,
    },
    /// Two events of one batch share an event id.
    #[error("event {index}: event id {event_id} appears twice in the batch")]
    DuplicateIdInBatch {
        /// The repeated id.
        event_id: Uuid,
        /// The second occurrence.
        index: usize,
    },
    /// `event_version` is above what the schema stores (`i32::MAX`).
    #[error("event {index}: event version {version} exceeds {max}")]
    EventVersionOutOfRange {
        /// The offending event.
        index: usize,
        /// Its version.
        version: u32,
        /// The largest storable version.
        max: u32,
    },
    /// `created_at` is outside the years 1 to 9999.
    #[error("event {index}: created_at {created_at} is outside the years 1 to 9999")]
    TimestampOutOfRange {
        /// The offending event.
        index: usize,
        /// Its timestamp.
        created_at: chrono::DateTime<chrono::Utc>,
    },
    /// One payload is larger than the store's limit.
    #[error("event {index}: payload is {size} bytes, more than the {max} allowed")]
    PayloadTooLarge {
        /// The offending event.
        index: usize,
        /// Its payload size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The whole batch is larger than the store's limit.
    #[error("batch is {size} bytes, more than the {max} allowed in one append")]
    BatchTooLarge {
        /// The batch's payload bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Metadata nests arrays and objects deeper than
    /// [`MAX_METADATA_DEPTH`](crate::MAX_METADATA_DEPTH).
    #[error("event {index}: metadata nests deeper than {max} levels")]
    MetadataTooDeep {
        /// The offending event.
        index: usize,
        /// The deepest nesting allowed.
        max: usize,
    },
    /// A position or version argument is beyond what the schema stores (`i64::MAX`).
    #[error("{what} {value} is out of range")]
    OutOfRange {
        /// Which argument.
        what: &'static str,
        /// Its value.
        value: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BackendErrorKind, StreamId};

    #[test]
    fn messages_carry_context() {
        let conflict = StoreError::Conflict {
            stream: StreamId::new("user", "1"),
            expected: ExpectedVersion::Exact(2),
            actual: 3,
        };
        assert_eq!(
            conflict.to_string(),
            "version conflict on stream user/1: expected version 2, stream is at version 3"
        );
        let dup = StoreError::DuplicateEventId {
            stream: StreamId::new("user", "1"),
            event_ids: vec![Uuid::nil(), Uuid::max()],
        };
        assert!(dup.to_string().contains("00000000-0000-0000-0000-000000000000, ffffffff"));
    }

    #[test]
    fn retryability_follows_the_backend_classification() {
        let busy = StoreError::from(BackendError::new(BackendErrorKind::Busy, "append", "locked"));
        assert!(busy.is_retryable());
        let schema = StoreError::from(BackendError::new(BackendErrorKind::Schema, "append", "x"));
        assert!(!schema.is_retryable());
        assert!(!StoreError::from(InputError::EmptyAppend).is_retryable());
    }
}

//! What can go wrong between a typed event and a stored one.

use std::fmt;

use crate::{BoxError, StreamId};

/// Why a stored event does not decode into a [`DomainEvent`](crate::DomainEvent), as the
/// generated code reports it; [`DecodeError`] adds where the event is.
#[derive(Debug)]
#[non_exhaustive]
pub enum DecodeFailure {
    /// No variant has this name or alias.
    UnknownType,
    /// The version is older than every version the enum can upcast from.
    VersionTooOld {
        /// The oldest version that decodes.
        oldest: u32,
    },
    /// The version is newer than the code: written by a newer deployment. A consumer must stop
    /// on it (and be resumed once it runs the newer code), never skip it.
    VersionTooNew {
        /// The newest version the code knows.
        newest: u32,
    },
    /// The payload does not deserialize into its declared type.
    Payload(BoxError),
    /// An upcast conversion refused the old payload.
    Upcast(BoxError),
}

impl fmt::Display for DecodeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownType => f.write_str("unknown event type"),
            Self::VersionTooOld { oldest } => {
                write!(f, "version older than the oldest that decodes ({oldest})")
            }
            Self::VersionTooNew { newest } => {
                write!(
                    f,
                    "version newer than this code knows ({newest}): written by a newer deployment"
                )
            }
            Self::Payload(err) => write!(f, "payload does not decode: {err}"),
            Self::Upcast(err) => write!(f, "upcast failed: {err}"),
        }
    }
}

/// The kind of a [`DecodeError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// See [`DecodeFailure::UnknownType`].
    UnknownType,
    /// See [`DecodeFailure::VersionTooOld`].
    VersionTooOld,
    /// See [`DecodeFailure::VersionTooNew`].
    VersionTooNew,
    /// See [`DecodeFailure::Payload`].
    Payload,
    /// See [`DecodeFailure::Upcast`].
    Upcast,
    /// The event belongs to another aggregate type than the enum declares.
    WrongAggregateType,
}

/// A stored event that does not decode into a typed event, with the event type, version,
/// stream and global position it came from.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(Box<Details>);

#[derive(Debug)]
struct Details {
    event_type: String,
    version: u32,
    stream: StreamId,
    position: u64,
    reason: Reason,
}

impl fmt::Display for Details {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "event {:?} v{} at position {} of stream {}: {}",
            self.event_type, self.version, self.position, self.stream, self.reason
        )
    }
}

#[derive(Debug)]
enum Reason {
    Failure(DecodeFailure),
    WrongAggregate { expected: &'static str },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failure(failure) => failure.fmt(f),
            Self::WrongAggregate { expected } => {
                write!(f, "belongs to another aggregate type than {expected:?}")
            }
        }
    }
}

impl DecodeError {
    pub(crate) fn new(event: &crate::PersistedEvent, failure: DecodeFailure) -> Self {
        Self::at(event, Reason::Failure(failure))
    }

    pub(crate) fn wrong_aggregate(event: &crate::PersistedEvent, expected: &'static str) -> Self {
        Self::at(event, Reason::WrongAggregate { expected })
    }

    fn at(event: &crate::PersistedEvent, reason: Reason) -> Self {
        Self(Box::new(Details {
            event_type: event.event.event_type.clone(),
            version: event.event.event_version,
            stream: event.event.stream.clone(),
            position: event.global_position,
            reason,
        }))
    }

    /// What went wrong.
    pub fn kind(&self) -> DecodeErrorKind {
        match &self.0.reason {
            Reason::WrongAggregate { .. } => DecodeErrorKind::WrongAggregateType,
            Reason::Failure(DecodeFailure::UnknownType) => DecodeErrorKind::UnknownType,
            Reason::Failure(DecodeFailure::VersionTooOld { .. }) => DecodeErrorKind::VersionTooOld,
            Reason::Failure(DecodeFailure::VersionTooNew { .. }) => DecodeErrorKind::VersionTooNew,
            Reason::Failure(DecodeFailure::Payload(_)) => DecodeErrorKind::Payload,
            Reason::Failure(DecodeFailure::Upcast(_)) => DecodeErrorKind::Upcast,
        }
    }

    /// The stored event type.
    pub fn event_type(&self) -> &str {
        &self.0.event_type
    }

    /// The stored event version.
    pub fn version(&self) -> u32 {
        self.0.version
    }

    /// The stream of the event.
    pub fn stream(&self) -> &StreamId {
        &self.0.stream
    }

    /// The event's global position.
    pub fn position(&self) -> u64 {
        self.0.position
    }
}

/// A typed event that cannot become a stored one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The payload does not serialize.
    #[error("payload of {event_type:?} does not serialize")]
    Payload {
        /// The event type.
        event_type: &'static str,
        /// The codec's error.
        #[source]
        source: BoxError,
    },
    /// The stream belongs to another aggregate type than the enum declares.
    #[error("stream {stream} is not of aggregate type {expected:?}")]
    WrongAggregateType {
        /// The stream appended to.
        stream: StreamId,
        /// The enum's aggregate type.
        expected: &'static str,
    },
}

//! Database failures shared by every component's error enum.
//!
//! Whether a failure is worth retrying can only be judged where it is born: the adapter sees the
//! SQLSTATE or SQLite result code. Adapters therefore build a [`BackendError`] with a
//! [`BackendErrorKind`] already decided, and callers ask [`BackendError::is_retryable`] instead of
//! parsing messages.

use std::error::Error as StdError;
use std::fmt;

/// A boxed source error.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// How a database failure is classified by the adapter that saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackendErrorKind {
    /// The database aborted the transaction to keep it serializable (PostgreSQL `40001`).
    /// Retry the whole transaction.
    SerializationFailure,
    /// The transaction was chosen as a deadlock victim (PostgreSQL `40P01`). Retry the whole
    /// transaction.
    Deadlock,
    /// The database stayed locked by another writer past the busy timeout (SQLite `SQLITE_BUSY`).
    /// Retry the whole transaction.
    Busy,
    /// The connection was lost or could not be obtained in time. The transaction's outcome may be
    /// unknown if this happened during commit; appends are idempotent by event id, so a retry
    /// reports [`DuplicateEventId`](crate::StoreError::DuplicateEventId) rather than writing twice.
    Connection,
    /// A schema problem: a table or column is missing (migrations not applied?) or has the wrong
    /// type. Not retryable.
    Schema,
    /// The database refused a value (too large, invalid encoding). Not retryable.
    Data,
    /// The database user lacks a privilege the operation needs (MySQL's `PROCESS`, for one).
    /// Not retryable: the message says what to grant.
    Privilege,
    /// Anything else. Not retryable.
    Other,
}

impl BackendErrorKind {
    /// Whether retrying the whole transaction unchanged may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::SerializationFailure | Self::Deadlock | Self::Busy | Self::Connection)
    }
}

impl fmt::Display for BackendErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SerializationFailure => "serialization failure",
            Self::Deadlock => "deadlock",
            Self::Busy => "database busy",
            Self::Connection => "connection failure",
            Self::Schema => "schema error",
            Self::Data => "data error",
            Self::Privilege => "missing privilege",
            Self::Other => "database error",
        })
    }
}

/// A failure of the database itself, with the operation that hit it and the driver's error as
/// source.
///
/// A [`Schema`](BackendErrorKind::Schema) error names the missing or mismatched object in its
/// message and says how to create the tables, since that is nearly always the fix:
///
/// ```
/// use pupsourcing::{BackendError, BackendErrorKind};
///
/// let err = BackendError::new(BackendErrorKind::Schema, "append", "no such table: stream_heads")
///     .with_detail("no such table: stream_heads");
/// assert_eq!(
///     err.to_string(),
///     "schema error during append: no such table: stream_heads \
///      (are the tables created? run `store.migrate()` or apply the `pupsourcing migrate` DDL)"
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{kind} during {operation}{}", Detail(self))]
pub struct BackendError {
    kind: BackendErrorKind,
    operation: &'static str,
    detail: Option<String>,
    #[source]
    source: BoxError,
}

impl BackendError {
    /// Wraps a driver error. Adapters call this from their single error-mapping function.
    pub fn new(
        kind: BackendErrorKind,
        operation: &'static str,
        source: impl Into<BoxError>,
    ) -> Self {
        Self { kind, operation, detail: None, source: source.into() }
    }

    /// Adds what the database said about the object involved (for example the missing table),
    /// shown in the message itself rather than only in [`source`](std::error::Error::source).
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// What the database said about the object involved, when the adapter recorded it.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The classification made by the adapter.
    pub fn kind(&self) -> BackendErrorKind {
        self.kind
    }

    /// The store operation that failed, e.g. `"append"`.
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// Whether retrying the whole transaction unchanged may succeed.
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }
}

struct Detail<'a>(&'a BackendError);

impl fmt::Display for Detail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(detail) = &self.0.detail {
            write!(f, ": {detail}")?;
        }
        if self.0.kind == BackendErrorKind::Schema {
            f.write_str(
                " (are the tables created? run `store.migrate()` or apply the `pupsourcing migrate` DDL)",
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_kinds_are_retryable() {
        let retryable = [
            BackendErrorKind::SerializationFailure,
            BackendErrorKind::Deadlock,
            BackendErrorKind::Busy,
            BackendErrorKind::Connection,
        ];
        let permanent = [BackendErrorKind::Schema, BackendErrorKind::Data, BackendErrorKind::Other];
        assert!(retryable.iter().all(|k| k.is_retryable()));
        assert!(permanent.iter().all(|k| !k.is_retryable()));
    }

    #[test]
    fn message_names_kind_and_operation_and_keeps_source() {
        let err = BackendError::new(BackendErrorKind::Deadlock, "append", "boom");
        assert_eq!(err.to_string(), "deadlock during append");
        assert_eq!(err.source().map(|s| s.to_string()).as_deref(), Some("boom"));
    }
}

//! The one place where rusqlite errors become pupsourcing errors.
//!
//! Classification uses SQLite's primary and extended result codes. SQLite gives a missing table
//! or column only the generic `SQLITE_ERROR` code, so for those two the (never localized)
//! message prefix decides.

use pupsourcing::{BackendError, BackendErrorKind, StoreError};
use rusqlite::ffi::{self, ErrorCode};

/// A failed rusqlite call and the operation it served.
#[derive(Debug)]
pub(crate) struct Failure {
    operation: &'static str,
    source: rusqlite::Error,
}

/// Wraps a rusqlite error with the operation it served.
pub(crate) fn failure(operation: &'static str, source: rusqlite::Error) -> Failure {
    Failure { operation, source }
}

/// Attaches the operation name to a rusqlite result.
pub(crate) trait Context<T> {
    fn during(self, operation: &'static str) -> Result<T, Failure>;
}

impl<T> Context<T> for Result<T, rusqlite::Error> {
    fn during(self, operation: &'static str) -> Result<T, Failure> {
        self.map_err(|source| Failure { operation, source })
    }
}

/// Which unique index a constraint violation hit, as SQLite names it: the columns
/// (`"events.event_id"`), since it does not report constraint names.
pub(crate) fn unique_violation_columns(err: &rusqlite::Error) -> Option<&str> {
    match err {
        rusqlite::Error::SqliteFailure(code, Some(message))
            if code.extended_code == ffi::SQLITE_CONSTRAINT_UNIQUE
                || code.extended_code == ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            message.strip_prefix("UNIQUE constraint failed: ")
        }
        _ => None,
    }
}

pub(crate) fn classify(err: &rusqlite::Error) -> BackendErrorKind {
    match err {
        rusqlite::Error::SqliteFailure(code, message) => match code.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => BackendErrorKind::Busy,
            ErrorCode::TooBig | ErrorCode::ConstraintViolation | ErrorCode::TypeMismatch => {
                BackendErrorKind::Data
            }
            ErrorCode::SchemaChanged => BackendErrorKind::Schema,
            ErrorCode::Unknown
                if message.as_deref().is_some_and(|m| {
                    m.starts_with("no such table") || m.starts_with("no such column")
                }) =>
            {
                BackendErrorKind::Schema
            }
            _ => BackendErrorKind::Other,
        },
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::Utf8Error(..) => BackendErrorKind::Data,
        _ => BackendErrorKind::Other,
    }
}

impl From<Failure> for BackendError {
    fn from(failure: Failure) -> Self {
        let kind = classify(&failure.source);
        // SQLite names the missing object only in its message (`no such table: events`).
        let detail = match (&failure.source, kind) {
            (rusqlite::Error::SqliteFailure(_, Some(message)), BackendErrorKind::Schema) => {
                Some(message.clone())
            }
            _ => None,
        };
        let err = BackendError::new(kind, failure.operation, failure.source);
        match detail {
            Some(detail) => err.with_detail(detail),
            None => err,
        }
    }
}

impl From<Failure> for pupsourcing::WorkerError {
    fn from(failure: Failure) -> Self {
        pupsourcing::WorkerError::Backend(failure.into())
    }
}

impl From<rusqlite::Error> for Failure {
    fn from(source: rusqlite::Error) -> Self {
        Failure { operation: "coordinator", source }
    }
}

impl From<Failure> for StoreError {
    fn from(failure: Failure) -> Self {
        StoreError::Backend(failure.into())
    }
}

/// The transaction's connection is gone: an earlier call on it was cancelled mid-flight, or the
/// transaction already finished.
pub(crate) fn connection_lost(operation: &'static str) -> BackendError {
    BackendError::new(
        BackendErrorKind::Connection,
        operation,
        "the transaction's connection was lost (an earlier call on it was cancelled, or the transaction is finished)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite_error(code: i32, message: &str) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(ffi::Error::new(code), Some(message.to_owned()))
    }

    #[test]
    fn busy_and_locked_are_retryable() {
        assert_eq!(
            classify(&sqlite_error(ffi::SQLITE_BUSY, "database is locked")),
            BackendErrorKind::Busy
        );
        assert_eq!(classify(&sqlite_error(ffi::SQLITE_LOCKED, "locked")), BackendErrorKind::Busy);
        assert!(
            BackendError::from(failure("append", sqlite_error(ffi::SQLITE_BUSY, "x")))
                .is_retryable()
        );
    }

    #[test]
    fn constraints_are_matched_by_index_not_by_kind() {
        let unique = sqlite_error(
            ffi::SQLITE_CONSTRAINT_UNIQUE,
            "UNIQUE constraint failed: events.event_id",
        );
        assert_eq!(unique_violation_columns(&unique), Some("events.event_id"));
        let not_null = sqlite_error(
            ffi::SQLITE_CONSTRAINT_NOTNULL,
            "NOT NULL constraint failed: events.payload",
        );
        assert_eq!(unique_violation_columns(&not_null), None);
        let check = sqlite_error(
            ffi::SQLITE_CONSTRAINT_CHECK,
            "CHECK constraint failed: aggregate_version > 0",
        );
        assert_eq!(unique_violation_columns(&check), None);
        assert_eq!(classify(&check), BackendErrorKind::Data);
    }

    #[test]
    fn missing_tables_are_schema_errors_that_name_the_table() {
        let missing = sqlite_error(ffi::SQLITE_ERROR, "no such table: events");
        assert_eq!(classify(&missing), BackendErrorKind::Schema);
        let message = BackendError::from(failure("append", missing)).to_string();
        assert!(
            message.starts_with("schema error during append: no such table: events"),
            "{message}"
        );
        assert!(message.contains("store.migrate()"), "{message}");
    }
}

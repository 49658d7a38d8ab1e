//! The one place where sqlx errors become pupsourcing errors.
//!
//! Classification uses the SQLSTATE of database errors and the variant of driver errors; no
//! message text is ever parsed for it.

use pupsourcing::{BackendError, BackendErrorKind, StoreError, WorkerError};

/// SQLSTATE `40001`: the transaction could not be serialized.
pub(crate) const SERIALIZATION_FAILURE: &str = "40001";
/// SQLSTATE `40P01`: the transaction was a deadlock victim.
pub(crate) const DEADLOCK_DETECTED: &str = "40P01";
/// SQLSTATE `55P03`: a lock could not be taken within `lock_timeout`.
const LOCK_NOT_AVAILABLE: &str = "55P03";
/// SQLSTATE `23505`: a unique constraint was violated.
pub(crate) const UNIQUE_VIOLATION: &str = "23505";
/// SQLSTATE class `08`: connection exception.
const CONNECTION_EXCEPTION_CLASS: &str = "08";
/// SQLSTATE class `22`: data exception (value out of range, invalid encoding, ...).
const DATA_EXCEPTION_CLASS: &str = "22";
/// SQLSTATE class `42`: syntax error or access rule violation (missing table or column, ...).
const SYNTAX_OR_ACCESS_CLASS: &str = "42";
/// SQLSTATE `3F000`: the schema does not exist.
const INVALID_SCHEMA_NAME: &str = "3F000";
/// SQLSTATE `54000`: a program limit was exceeded (value too large for an index row, ...).
const PROGRAM_LIMIT_EXCEEDED: &str = "54000";
/// SQLSTATEs `57P01`..`57P03`: the server is shutting down or starting.
const SERVER_GOING_AWAY: [&str; 3] = ["57P01", "57P02", "57P03"];
/// SQLSTATE `25006`: a write on a server that only reads. Seen during a failover, on connections
/// still open to the demoted primary until the pool replaces them.
const READ_ONLY_TRANSACTION: &str = "25006";

/// A failed sqlx call and the operation it served.
#[derive(Debug)]
pub(crate) struct Failure {
    operation: &'static str,
    source: sqlx::Error,
}

/// Wraps an sqlx error with the operation it served.
pub(crate) fn failure(operation: &'static str, source: sqlx::Error) -> Failure {
    Failure { operation, source }
}

/// Attaches the operation name to an sqlx result.
pub(crate) trait Context<T> {
    fn during(self, operation: &'static str) -> Result<T, Failure>;
}

impl<T> Context<T> for Result<T, sqlx::Error> {
    fn during(self, operation: &'static str) -> Result<T, Failure> {
        self.map_err(|source| Failure { operation, source })
    }
}

/// The SQLSTATE of a database error, if it is one.
pub(crate) fn sqlstate(err: &sqlx::Error) -> Option<String> {
    err.as_database_error().and_then(|db| db.code()).map(|code| code.into_owned())
}

pub(crate) fn classify(err: &sqlx::Error) -> BackendErrorKind {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_) => {
            BackendErrorKind::Connection
        }
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some(SERIALIZATION_FAILURE) => BackendErrorKind::SerializationFailure,
            Some(DEADLOCK_DETECTED) => BackendErrorKind::Deadlock,
            Some(LOCK_NOT_AVAILABLE) => BackendErrorKind::Busy,
            Some(INVALID_SCHEMA_NAME) => BackendErrorKind::Schema,
            Some(PROGRAM_LIMIT_EXCEEDED) => BackendErrorKind::Data,
            Some(code) if SERVER_GOING_AWAY.contains(&code) => BackendErrorKind::Connection,
            Some(READ_ONLY_TRANSACTION) => BackendErrorKind::Connection,
            Some(code) if code.starts_with(CONNECTION_EXCEPTION_CLASS) => {
                BackendErrorKind::Connection
            }
            Some(code) if code.starts_with(DATA_EXCEPTION_CLASS) => BackendErrorKind::Data,
            Some(code) if code.starts_with(SYNTAX_OR_ACCESS_CLASS) => BackendErrorKind::Schema,
            _ => BackendErrorKind::Other,
        },
        sqlx::Error::ColumnNotFound(_) | sqlx::Error::ColumnIndexOutOfBounds { .. } => {
            BackendErrorKind::Schema
        }
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) | sqlx::Error::Encode(_) => {
            BackendErrorKind::Data
        }
        _ => BackendErrorKind::Other,
    }
}

impl From<Failure> for BackendError {
    fn from(failure: Failure) -> Self {
        let kind = classify(&failure.source);
        // A schema error names its object (`relation "events" does not exist`) in the server's
        // message; the message is what tells an operator which table is missing.
        let detail = match (&failure.source, kind) {
            (sqlx::Error::Database(db), BackendErrorKind::Schema) => Some(db.message().to_owned()),
            (sqlx::Error::ColumnNotFound(column), _) => Some(format!("no column {column:?}")),
            _ => None,
        };
        let err = BackendError::new(kind, failure.operation, failure.source);
        match detail {
            Some(detail) => err.with_detail(detail),
            None => err,
        }
    }
}

impl From<Failure> for StoreError {
    fn from(failure: Failure) -> Self {
        StoreError::Backend(failure.into())
    }
}

impl From<Failure> for WorkerError {
    fn from(failure: Failure) -> Self {
        WorkerError::Backend(failure.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_errors_are_classified_without_a_server() {
        let io = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert_eq!(classify(&io), BackendErrorKind::Connection);
        assert_eq!(classify(&sqlx::Error::PoolTimedOut), BackendErrorKind::Connection);
        assert_eq!(classify(&sqlx::Error::RowNotFound), BackendErrorKind::Other);
        let err =
            BackendError::from(Failure { operation: "append", source: sqlx::Error::PoolTimedOut });
        assert!(err.is_retryable());
        assert_eq!(err.operation(), "append");
        let missing = BackendError::from(Failure {
            operation: "status",
            source: sqlx::Error::ColumnNotFound("failing_since".into()),
        });
        assert_eq!(missing.kind(), BackendErrorKind::Schema);
        assert!(missing.to_string().contains("\"failing_since\""), "{missing}");
        assert!(missing.to_string().contains("store.migrate()"), "{missing}");
    }
}

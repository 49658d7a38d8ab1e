//! The one place where sqlx errors become pupsourcing errors, by MySQL error number (never by
//! message text).

use pupsourcing::{BackendError, BackendErrorKind, StoreError, WorkerError};

/// `ER_DUP_ENTRY`: a unique key was violated (InnoDB rolls back only the statement).
pub(crate) const DUPLICATE_ENTRY: u16 = 1062;
/// `ER_LOCK_DEADLOCK`: the transaction was a deadlock victim and was rolled back.
const DEADLOCK: u16 = 1213;
/// `ER_LOCK_WAIT_TIMEOUT`: a row lock was not granted within `innodb_lock_wait_timeout`.
const LOCK_WAIT_TIMEOUT: u16 = 1205;
/// `ER_NET_PACKET_TOO_LARGE`: a packet exceeded the server's `max_allowed_packet`.
pub(crate) const PACKET_TOO_LARGE: u16 = 1153;
/// `ER_NO_SUCH_TABLE` and `ER_BAD_FIELD_ERROR`: a missing table or column.
const SCHEMA_ERRORS: [u16; 2] = [1146, 1054];
/// `ER_BAD_DB_ERROR`: the database does not exist.
const NO_DATABASE: u16 = 1049;
/// Server shutdown, lost or refused connections, and a read-only server (a demoted primary).
const CONNECTION_ERRORS: [u16; 6] = [1053, 2002, 2003, 2006, 2013, 1290];
/// Access denied: to a database, a table, or for lack of a global privilege such as `PROCESS`.
const ACCESS_DENIED: [u16; 4] = [1044, 1045, 1142, 1227];
/// Data too long, out of range, or not valid for the column.
const DATA_ERRORS: [u16; 4] = [1406, 1264, 1366, 3140];

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

/// The MySQL error number of a database error, if it is one.
pub(crate) fn error_number(err: &sqlx::Error) -> Option<u16> {
    err.as_database_error()
        .and_then(|db| db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>())
        .map(sqlx::mysql::MySqlDatabaseError::number)
}

pub(crate) fn classify(err: &sqlx::Error) -> BackendErrorKind {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_) => {
            BackendErrorKind::Connection
        }
        sqlx::Error::Database(_) => match error_number(err) {
            Some(DEADLOCK) => BackendErrorKind::Deadlock,
            Some(LOCK_WAIT_TIMEOUT) => BackendErrorKind::Busy,
            Some(number) if SCHEMA_ERRORS.contains(&number) || number == NO_DATABASE => {
                BackendErrorKind::Schema
            }
            Some(number) if CONNECTION_ERRORS.contains(&number) => BackendErrorKind::Connection,
            Some(number) if ACCESS_DENIED.contains(&number) => BackendErrorKind::Privilege,
            Some(number) if DATA_ERRORS.contains(&number) || number == PACKET_TOO_LARGE => {
                BackendErrorKind::Data
            }
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
        let detail = match (&failure.source, kind) {
            (sqlx::Error::Database(db), BackendErrorKind::Schema | BackendErrorKind::Privilege) => {
                Some(db.message().to_owned())
            }
            (sqlx::Error::Database(_), _)
                if error_number(&failure.source) == Some(PACKET_TOO_LARGE) =>
            {
                Some(
                    "the server refused a packet larger than its max_allowed_packet: raise it \
                     (SET GLOBAL max_allowed_packet) above the largest append"
                        .to_owned(),
                )
            }
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

//! The transaction port: who opens, commits and rolls back.
//!
//! pupsourcing never hides a transaction from its caller. Every store, coordinator and key-store
//! call takes `&mut D::Tx`, the backend's own transaction type, so domain events, read-model rows
//! and checkpoints written in one transaction commit or vanish together. For PostgreSQL the
//! transaction is `sqlx::Transaction<'static, Postgres>`: run your own queries on `&mut *tx`.

use async_trait::async_trait;

use crate::{BackendError, BackendErrorKind};

/// A handle to a database that can open transactions. Cheap to clone (a pool handle).
///
/// # Contract
/// - [`begin`](Database::begin) returns a transaction that sees its own writes; isolation is the
///   backend's default unless the adapter documents otherwise (PostgreSQL: READ COMMITTED,
///   configurable; SQLite: serializable, single writer; memory: single writer, read committed).
/// - [`commit`](Database::commit) makes every write of the transaction visible at once, or fails
///   and makes none visible (an error during commit over a lost connection leaves the outcome
///   unknown: [`BackendErrorKind::Connection`](crate::BackendErrorKind::Connection)).
/// - [`begin_read`](Database::begin_read) returns a transaction for reads only. It never waits
///   for writers (SQLite takes no write lock for it) and sees committed data; writing through it
///   fails.
/// - [`rollback`](Database::rollback) discards every write. Dropping a transaction without
///   finishing it also rolls it back.
/// - After any store error, the transaction must be rolled back: it may already be aborted.
#[async_trait]
pub trait Database: Clone + Send + Sync + 'static {
    /// The backend's transaction type, owned by the caller for its whole life.
    type Tx: Send + 'static;

    /// Opens a transaction that may write.
    async fn begin(&self) -> Result<Self::Tx, BackendError>;

    /// Opens a transaction that only reads.
    async fn begin_read(&self) -> Result<Self::Tx, BackendError>;

    /// Commits a transaction.
    async fn commit(&self, tx: Self::Tx) -> Result<(), BackendError>;

    /// Rolls a transaction back.
    async fn rollback(&self, tx: Self::Tx) -> Result<(), BackendError>;

    /// Whether [`begin`](Database::begin) queues writers one at a time (SQLite's write lock):
    /// then concurrent writers wait for each other instead of conflicting, and a command that
    /// reads, decides and appends is better run inside one write transaction than without.
    /// The default is `false`: writers run concurrently.
    fn serializes_writers(&self) -> bool {
        false
    }

    /// Classifies an error of this backend's driver (for example the `sqlx::Error` of a
    /// projection's own query), with the same rules the adapter applies to its own calls; `None`
    /// when `error` is not the driver's. The worker asks this of every error in the source chain
    /// of a failed handler, so that a handler failing because the database is briefly away is
    /// retried rather than paused. The default knows no driver.
    fn classify(error: &(dyn std::error::Error + 'static)) -> Option<BackendErrorKind> {
        let _ = error;
        None
    }
}

//! [`Database`] over an sqlx connection pool.

use async_trait::async_trait;
use pupsourcing::{BackendError, BackendErrorKind, Database};
use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::error::Context;

/// The transaction type of the PostgreSQL adapter: sqlx's own. Run your queries on `&mut *tx`;
/// dropping it unfinished rolls it back.
pub type PgTx = sqlx::Transaction<'static, sqlx::Postgres>;

/// Transaction isolation for transactions opened by [`PgDatabase::begin`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum IsolationLevel {
    /// PostgreSQL's default. Concurrent `Any` appends queue on the stream's head row.
    #[default]
    ReadCommitted,
    /// Concurrent writes to one stream fail with a retryable serialization failure.
    RepeatableRead,
    /// As `RepeatableRead`, plus serializable read-write dependencies.
    Serializable,
}

impl IsolationLevel {
    fn begin_statement(self) -> Option<&'static str> {
        match self {
            Self::ReadCommitted => None,
            Self::RepeatableRead => Some("BEGIN ISOLATION LEVEL REPEATABLE READ"),
            Self::Serializable => Some("BEGIN ISOLATION LEVEL SERIALIZABLE"),
        }
    }
}

/// A PostgreSQL database: an sqlx pool plus the isolation level for new transactions.
///
/// Transactions you open yourself (`pool.begin()`, `pool.begin_with(...)`) work with every store
/// call too; this type serves what opens its own: the worker, and the store calls that take no
/// transaction (`append_committed`, `read_stream_committed`).
#[derive(Debug, Clone)]
pub struct PgDatabase {
    pool: PgPool,
    isolation: IsolationLevel,
}

impl PgDatabase {
    /// Wraps an existing pool.
    pub fn new(pool: PgPool) -> Self {
        Self { pool, isolation: IsolationLevel::default() }
    }

    /// Connects a pool of up to `max_connections` to `url`, with sqlx's defaults otherwise.
    ///
    /// Those include `test_before_acquire`: a connection is pinged before the pool hands it
    /// out, one round trip more per transaction. It stays on: after a server restart or a
    /// failover it keeps dead connections from failing the next statement (an append whose
    /// connection dies mid-call has an unknown outcome), and the bench could not tell the
    /// saving from its noise (single-event appends with and without it, same run: 1 187 and
    /// 1 094 /s in transactions, 1 230 and 1 531 /s autocommit). To trade that safety for the
    /// round trip, build the pool yourself with `PgPoolOptions::test_before_acquire(false)`
    /// and wrap it with [`new`](Self::new).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, BackendError> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .connect(url)
            .await
            .during("connect")?;
        Ok(Self::new(pool))
    }

    /// Opens future transactions at `isolation`.
    #[must_use]
    pub fn with_isolation(mut self, isolation: IsolationLevel) -> Self {
        self.isolation = isolation;
        self
    }

    /// The isolation level of the transactions it opens.
    pub fn isolation(&self) -> IsolationLevel {
        self.isolation
    }

    /// The pool, for your own queries and transactions.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl Database for PgDatabase {
    type Tx = PgTx;

    async fn begin(&self) -> Result<PgTx, BackendError> {
        let tx = match self.isolation.begin_statement() {
            Some(statement) => self.pool.begin_with(statement).await,
            None => self.pool.begin().await,
        };
        Ok(tx.during("begin")?)
    }

    async fn begin_read(&self) -> Result<PgTx, BackendError> {
        let statement = match self.isolation {
            IsolationLevel::ReadCommitted => "BEGIN READ ONLY",
            IsolationLevel::RepeatableRead => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            IsolationLevel::Serializable => "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY",
        };
        Ok(self.pool.begin_with(statement).await.during("begin")?)
    }

    async fn commit(&self, tx: PgTx) -> Result<(), BackendError> {
        Ok(tx.commit().await.during("commit")?)
    }

    async fn rollback(&self, tx: PgTx) -> Result<(), BackendError> {
        Ok(tx.rollback().await.during("rollback")?)
    }

    /// Classifies an `sqlx::Error` (a handler's own query) by the adapter's SQLSTATE rules.
    fn classify(error: &(dyn std::error::Error + 'static)) -> Option<BackendErrorKind> {
        error.downcast_ref::<sqlx::Error>().map(crate::error::classify)
    }
}

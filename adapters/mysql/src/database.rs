//! [`Database`] over an sqlx MySQL pool.

use std::sync::Arc;

use async_trait::async_trait;
use pupsourcing::{BackendError, BackendErrorKind, Database};
use sqlx::Executor;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use tokio::sync::watch;

use crate::error::Context;

/// The transaction type of the MySQL adapter: sqlx's own. Run your queries on `&mut *tx`;
/// dropping it unfinished rolls it back.
pub type MysqlTx = sqlx::Transaction<'static, sqlx::MySql>;

/// What every connection of the adapter runs first.
pub(crate) const SESSION: [&str; 2] =
    ["SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", "SET time_zone = '+00:00'"];

/// A MySQL or MariaDB database: an sqlx pool whose connections run READ COMMITTED, so that each
/// statement reads the latest committed rows (the frontier's proof and the store's head checks
/// rely on it; InnoDB's default, REPEATABLE READ, would read a transaction's first snapshot).
#[derive(Debug, Clone)]
pub struct MysqlDatabase {
    pool: MySqlPool,
    commits: Arc<watch::Sender<u64>>,
}

impl MysqlDatabase {
    /// Wraps a pool. Its connections must run READ COMMITTED; [`MysqlDatabase::connect`] and
    /// [`MysqlDatabase::pool_options`] set it up so.
    pub fn new(pool: MySqlPool) -> Self {
        Self { pool, commits: Arc::new(watch::Sender::new(0)) }
    }

    /// Pool options that run every connection at READ COMMITTED in UTC, for pools you build
    /// yourself.
    pub fn pool_options() -> MySqlPoolOptions {
        MySqlPoolOptions::new().after_connect(|conn, _| {
            Box::pin(async move {
                for setting in SESSION {
                    conn.execute(setting).await?;
                }
                Ok(())
            })
        })
    }

    /// Connects a pool of up to `max_connections` to `url` (`mysql://user:password@host/db`).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, BackendError> {
        let options: MySqlConnectOptions = url.parse().during("connect")?;
        let pool = Self::pool_options()
            .max_connections(max_connections)
            .connect_with(options)
            .await
            .during("connect")?;
        Ok(Self::new(pool))
    }

    /// Signals after every commit made through this handle (MySQL has no NOTIFY): what wakes
    /// this process's idle consumers before their next poll.
    pub(crate) fn wakeups(&self) -> pupsourcing::spi::Wakeups {
        self.commits.subscribe()
    }

    /// The pool, for your own queries and transactions.
    pub fn pool(&self) -> &MySqlPool {
        &self.pool
    }
}

#[async_trait]
impl Database for MysqlDatabase {
    type Tx = MysqlTx;

    async fn begin(&self) -> Result<MysqlTx, BackendError> {
        Ok(self.pool.begin().await.during("begin")?)
    }

    async fn begin_read(&self) -> Result<MysqlTx, BackendError> {
        Ok(self.pool.begin_with("START TRANSACTION READ ONLY").await.during("begin")?)
    }

    async fn commit(&self, tx: MysqlTx) -> Result<(), BackendError> {
        tx.commit().await.during("commit")?;
        self.commits.send_modify(|count| *count = count.wrapping_add(1));
        Ok(())
    }

    async fn rollback(&self, tx: MysqlTx) -> Result<(), BackendError> {
        Ok(tx.rollback().await.during("rollback")?)
    }

    /// Classifies an `sqlx::Error` (a handler's own query) by the adapter's error-number rules.
    fn classify(error: &(dyn std::error::Error + 'static)) -> Option<BackendErrorKind> {
        error.downcast_ref::<sqlx::Error>().map(crate::error::classify)
    }
}

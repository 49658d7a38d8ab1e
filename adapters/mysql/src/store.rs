//! The MySQL event store.

mod append;
mod read;
mod sql;

use std::sync::Arc;

use async_trait::async_trait;
use pupsourcing::{
    AppendResult, BackendError, Event, EventStore, ExpectedVersion, FrontierStatus, LogQuery,
    PersistedEvent, StoreError, Stream, StreamId, Versions,
};

use crate::error::Context;
use crate::{MysqlDatabase, MysqlStoreConfig, MysqlTx, frontier, migrate};
use sql::Statements;

/// An [`EventStore`] in MySQL or MariaDB, with the fenced frontier of [`frontier`](crate::frontier).
#[derive(Debug, Clone)]
pub struct MysqlStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) db: MysqlDatabase,
    pub(crate) config: MysqlStoreConfig,
    pub(crate) sql: Statements,
    /// The frontier advance's own connection (see [`frontier`](crate::frontier)).
    pub(crate) frontier_connection: tokio::sync::Mutex<Option<sqlx::MySqlConnection>>,
    /// At most one hole warning per threshold.
    pub(crate) hole_warnings: pupsourcing::spi::frontier::WarningThrottle,
    /// The server's `max_allowed_packet`, read once (0: not read yet).
    pub(crate) max_packet: std::sync::atomic::AtomicU64,
    /// What appends need to know of the server, read on the first: whether it is MariaDB (has
    /// `INSERT … RETURNING`), and its `auto_increment_increment`.
    pub(crate) server: std::sync::OnceLock<(bool, u64)>,
}

impl MysqlStore {
    /// A store with the default table names and limits.
    pub fn new(db: &MysqlDatabase) -> Self {
        Self::with_config(db, MysqlStoreConfig::default())
    }

    /// A store with `config`.
    pub fn with_config(db: &MysqlDatabase, config: MysqlStoreConfig) -> Self {
        let sql = Statements::new(config.tables());
        Self {
            inner: Arc::new(Inner {
                db: db.clone(),
                config,
                sql,
                frontier_connection: tokio::sync::Mutex::new(None),
                hole_warnings: pupsourcing::spi::frontier::WarningThrottle::default(),
                max_packet: std::sync::atomic::AtomicU64::new(0),
                server: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Creates the store's tables if they do not exist, and checks that the database user may
    /// do what the gap strategy needs (`PROCESS` for the default transaction-id fence: a
    /// [`Privilege`](pupsourcing::BackendErrorKind::Privilege) error says what to grant).
    pub async fn migrate(&self) -> Result<(), BackendError> {
        migrate::apply(&self.inner.db, self.inner.config.tables(), self.inner.config.gap_strategy())
            .await
    }

    /// The store's configuration.
    pub fn config(&self) -> &MysqlStoreConfig {
        &self.inner.config
    }

    /// The database the store was created with.
    pub fn database(&self) -> &MysqlDatabase {
        &self.inner.db
    }
}

#[async_trait]
impl EventStore<MysqlDatabase> for MysqlStore {
    async fn append(
        &self,
        tx: &mut MysqlTx,
        expected: ExpectedVersion,
        events: Vec<Event>,
    ) -> Result<AppendResult, StoreError> {
        append::append(&self.inner, tx, expected, events).await
    }

    async fn read_stream(
        &self,
        tx: &mut MysqlTx,
        stream: &StreamId,
        versions: Versions,
    ) -> Result<Stream, StoreError> {
        read::read_stream(&self.inner, tx, stream, versions).await
    }

    async fn stream_version(&self, tx: &mut MysqlTx, stream: &StreamId) -> Result<u64, StoreError> {
        read::stream_version(&self.inner, tx, stream).await
    }

    async fn read_events(
        &self,
        tx: &mut MysqlTx,
        after: u64,
        limit: usize,
    ) -> Result<Vec<PersistedEvent>, StoreError> {
        read::read_events(&self.inner, tx, after, limit).await
    }

    async fn latest_position(&self, tx: &mut MysqlTx) -> Result<u64, StoreError> {
        read::latest_position(&self.inner, tx).await
    }

    async fn safe_frontier(&self, tx: &mut MysqlTx) -> Result<u64, StoreError> {
        frontier::safe_frontier(&self.inner, tx).await
    }

    /// See the [`frontier`](crate::frontier) module for how holes are proven dead.
    async fn advance_frontier(&self) -> Result<FrontierStatus, StoreError> {
        frontier::advance(&self.inner).await
    }

    async fn read_events_until(
        &self,
        tx: &mut MysqlTx,
        query: &LogQuery,
    ) -> Result<Vec<PersistedEvent>, StoreError> {
        read::read_events_until(&self.inner, tx, query).await
    }

    /// One statement on a pooled connection, outside any transaction. (Appends keep the
    /// default: they are two statements, which must commit together.)
    async fn read_stream_committed(
        &self,
        db: &MysqlDatabase,
        stream: &StreamId,
        versions: Versions,
    ) -> Result<Stream, StoreError> {
        let mut conn = db.pool().acquire().await.during("read_stream")?;
        read::read_stream(&self.inner, &mut conn, stream, versions).await
    }
}

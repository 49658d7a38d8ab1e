//! The SQLite event store.

mod append;
mod read;
mod sql;

pub(crate) use read::stream_args;

use std::sync::Arc;

use async_trait::async_trait;
use pupsourcing::{
    AppendResult, BackendError, Database, Event, EventStore, ExpectedVersion, FrontierStatus,
    LogQuery, PersistedEvent, StoreError, Stream, StreamId, Versions,
};

use crate::{SqliteDatabase, SqliteStoreConfig, SqliteTx, migrate};
use sql::Statements;

/// An [`EventStore`] in SQLite.
///
/// Writers hold SQLite's single write lock for their whole transaction (`BEGIN IMMEDIATE`), so
/// global positions are assigned in commit order and the safe frontier is simply the highest
/// committed position. Readers never wait (WAL mode).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    db: SqliteDatabase,
    config: SqliteStoreConfig,
    sql: Statements,
}

impl SqliteStore {
    /// A store with the default table names and limits.
    pub fn new(db: &SqliteDatabase) -> Self {
        Self::with_config(db, SqliteStoreConfig::default())
    }

    /// A store with `config`.
    pub fn with_config(db: &SqliteDatabase, config: SqliteStoreConfig) -> Self {
        let sql = Statements::new(config.tables());
        Self { inner: Arc::new(Inner { db: db.clone(), config, sql }) }
    }

    /// Creates the store's tables if they do not exist, in one write transaction.
    pub async fn migrate(&self) -> Result<(), BackendError> {
        migrate::apply(&self.inner.db, self.inner.config.tables()).await
    }

    /// The store's configuration.
    pub fn config(&self) -> &SqliteStoreConfig {
        &self.inner.config
    }

    /// The database the store was created with.
    pub fn database(&self) -> &SqliteDatabase {
        &self.inner.db
    }
}

#[async_trait]
impl EventStore<SqliteDatabase> for SqliteStore {
    #[tracing::instrument(name = "pupsourcing.append", skip_all, fields(events = events.len()))]
    async fn append(
        &self,
        tx: &mut SqliteTx,
        expected: ExpectedVersion,
        events: Vec<Event>,
    ) -> Result<AppendResult, StoreError> {
        append::append(&self.inner, tx, expected, events).await
    }

    #[tracing::instrument(name = "pupsourcing.read_stream", skip_all, fields(stream = %stream))]
    async fn read_stream(
        &self,
        tx: &mut SqliteTx,
        stream: &StreamId,
        versions: Versions,
    ) -> Result<Stream, StoreError> {
        read::read_stream(&self.inner, tx, stream, versions).await
    }

    #[tracing::instrument(name = "pupsourcing.stream_version", skip_all, fields(stream = %stream))]
    async fn stream_version(
        &self,
        tx: &mut SqliteTx,
        stream: &StreamId,
    ) -> Result<u64, StoreError> {
        read::stream_version(&self.inner, tx, stream).await
    }

    #[tracing::instrument(name = "pupsourcing.read_events", skip(self, tx))]
    async fn read_events(
        &self,
        tx: &mut SqliteTx,
        after: u64,
        limit: usize,
    ) -> Result<Vec<PersistedEvent>, StoreError> {
        read::read_events(&self.inner, tx, after, limit).await
    }

    #[tracing::instrument(name = "pupsourcing.latest_position", skip_all)]
    async fn latest_position(&self, tx: &mut SqliteTx) -> Result<u64, StoreError> {
        read::latest_position(&self.inner, tx).await
    }

    #[tracing::instrument(name = "pupsourcing.safe_frontier", skip_all)]
    async fn safe_frontier(&self, tx: &mut SqliteTx) -> Result<u64, StoreError> {
        read::safe_frontier(&self.inner, tx).await
    }

    /// Writers commit in position order, so there is nothing to prove: this reports the highest
    /// committed position as both the frontier and the latest position.
    #[tracing::instrument(name = "pupsourcing.advance_frontier", skip_all)]
    async fn advance_frontier(&self) -> Result<FrontierStatus, StoreError> {
        let mut tx = self.inner.db.begin_read().await?;
        let latest = read::latest_position(&self.inner, &mut tx).await?;
        self.inner.db.rollback(tx).await?;
        Ok(FrontierStatus {
            safe_position: latest,
            latest_position: latest,
            ..FrontierStatus::default()
        })
    }

    #[tracing::instrument(name = "pupsourcing.read_events_until", skip(self, tx))]
    async fn read_events_until(
        &self,
        tx: &mut SqliteTx,
        query: &LogQuery,
    ) -> Result<Vec<PersistedEvent>, StoreError> {
        read::read_events_until(&self.inner, tx, query).await
    }

    /// Begin, append and commit as one blocking call.
    #[tracing::instrument(name = "pupsourcing.append_committed", skip_all, fields(events = events.len()))]
    async fn append_committed(
        &self,
        db: &SqliteDatabase,
        expected: ExpectedVersion,
        events: Vec<Event>,
    ) -> Result<AppendResult, StoreError> {
        append::append_committed(&self.inner, db, expected, events).await
    }

    /// One statement on a pooled connection, as one blocking call.
    #[tracing::instrument(name = "pupsourcing.read_stream_committed", skip_all, fields(stream = %stream))]
    async fn read_stream_committed(
        &self,
        db: &SqliteDatabase,
        stream: &StreamId,
        versions: Versions,
    ) -> Result<Stream, StoreError> {
        read::read_stream_committed(&self.inner, db, stream, versions).await
    }
}

//! The PostgreSQL event store.

mod append;
mod notifier;
mod read;
mod sql;

use std::sync::Arc;

use async_trait::async_trait;
use pupsourcing::{
    AppendResult, BackendError, Event, EventStore, ExpectedVersion, FrontierStatus, LogQuery,
    PersistedEvent, StoreError, Stream, StreamId, Versions,
};

use crate::error::Context;
use crate::frontier::OldestWriter;
use crate::{IsolationLevel, PgDatabase, PgTx, PostgresStoreConfig, frontier, migrate};
use pupsourcing::spi::append_in_own_transaction;
use sql::Statements;

/// An [`EventStore`] in PostgreSQL.
///
/// Appends are one round trip: a single statement checks event ids for duplicates, moves the
/// stream's head row (which enforces the expected version and makes concurrent `Any` writers
/// queue on the row lock), and inserts every event from arrays. The unique constraints on
/// `event_id` and `(stream, version)` back the checks up in the database itself. Being one
/// statement, it needs no transaction around it: [`append_committed`](EventStore::append_committed)
/// runs it in autocommit, without the `BEGIN` and `COMMIT` round trips. Wake-ups for other
/// processes' consumers go out after the commit (see [`PostgresStoreConfig`] for how and why).
///
/// ```no_run
/// use pupsourcing::{Database, Event, EventStore, ExpectedVersion, StreamId};
/// use pupsourcing_postgres::{PgDatabase, PostgresStore};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let db = PgDatabase::connect("postgres://localhost/app", 10).await?;
/// let store = PostgresStore::new(&db);
/// store.migrate().await?;
///
/// let mut tx = db.begin().await?;
/// let user = StreamId::new("user", "42");
/// store.append(&mut tx, ExpectedVersion::NoStream, vec![Event::new(&user, "Registered", b"{}".to_vec())]).await?;
/// sqlx::query("INSERT INTO audit (note) VALUES ('registered 42')").execute(&mut *tx).await?;
/// db.commit(tx).await?; // the event and the audit row commit together
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) db: PgDatabase,
    pub(crate) config: PostgresStoreConfig,
    pub(crate) sql: Statements,
    /// At most one hole warning per threshold.
    pub(crate) hole_warnings: pupsourcing::spi::frontier::WarningThrottle,
    /// Wake-ups for appends, sent after their commit.
    pub(crate) notifier: notifier::Notifier,
}

impl PostgresStore {
    /// A store with the default table names, NOTIFY on a derived channel and default limits.
    pub fn new(db: &PgDatabase) -> Self {
        Self::with_config(db, PostgresStoreConfig::default())
    }

    /// A store with `config`.
    pub fn with_config(db: &PgDatabase, config: PostgresStoreConfig) -> Self {
        let sql = Statements::new(config.tables());
        Self {
            inner: Arc::new(Inner {
                db: db.clone(),
                config,
                sql,
                hole_warnings: pupsourcing::spi::frontier::WarningThrottle::default(),
                notifier: notifier::Notifier::default(),
            }),
        }
    }

    /// Creates the store's tables, sequence and position function if they do not exist. Safe to
    /// call from several processes at once (serialized by an advisory lock).
    pub async fn migrate(&self) -> Result<(), BackendError> {
        migrate::apply(&self.inner.db, self.inner.config.tables()).await
    }

    /// The store's configuration.
    pub fn config(&self) -> &PostgresStoreConfig {
        &self.inner.config
    }

    /// The database the store was created with.
    pub fn database(&self) -> &PgDatabase {
        &self.inner.db
    }

    /// The oldest open transaction that holds a transaction id, if any: where to look when an
    /// open hole holds the frontier back. Needs the right to see other sessions' activity
    /// (`pg_read_all_stats`, or the same role) for their queries.
    pub async fn oldest_writer(&self) -> Result<Option<OldestWriter>, BackendError> {
        frontier::oldest_writer(&self.inner).await
    }
}

#[async_trait]
impl EventStore<PgDatabase> for PostgresStore {
    #[tracing::instrument(name = "pupsourcing.append", skip_all, fields(stream, events = events.len()))]
    async fn append(
        &self,
        tx: &mut PgTx,
        expected: ExpectedVersion,
        events: Vec<Event>,
    ) -> Result<AppendResult, StoreError> {
        if let Some(first) = events.first() {
            tracing::Span::current().record("stream", tracing::field::display(&first.stream));
        }
        append::append(&self.inner, tx, expected, events).await
    }

    #[tracing::instrument(name = "pupsourcing.read_stream", skip_all, fields(stream = %stream))]
    async fn read_stream(
        &self,
        tx: &mut PgTx,
        stream: &StreamId,
        versions: Versions,
    ) -> Result<Stream, StoreError> {
        read::read_stream(&self.inner, tx, stream, versions).await
    }

    #[tracing::instrument(name = "pupsourcing.stream_version", skip_all, fields(stream = %stream))]
    async fn stream_version(&self, tx: &mut PgTx, stream: &StreamId) -> Result<u64, StoreError> {
        read::stream_version(&self.inner, tx, stream).await
    }

    #[tracing::instrument(name = "pupsourcing.read_events", skip(self, tx))]
    async fn read_events(
        &self,
        tx: &mut PgTx,
        after: u64,
        limit: usize,
    ) -> Result<Vec<PersistedEvent>, StoreError> {
        read::read_events(&self.inner, tx, after, limit).await
    }

    #[tracing::instrument(name = "pupsourcing.latest_position", skip_all)]
    async fn latest_position(&self, tx: &mut PgTx) -> Result<u64, StoreError> {
        read::latest_position(&self.inner, tx).await
    }

    #[tracing::instrument(name = "pupsourcing.safe_frontier", skip_all)]
    async fn safe_frontier(&self, tx: &mut PgTx) -> Result<u64, StoreError> {
        read::safe_frontier(&self.inner, tx).await
    }

    /// See the [`frontier`](crate::frontier) module for how holes are proven dead.
    #[tracing::instrument(name = "pupsourcing.advance_frontier", skip_all)]
    async fn advance_frontier(&self) -> Result<FrontierStatus, StoreError> {
        frontier::advance(&self.inner).await
    }

    #[tracing::instrument(name = "pupsourcing.read_events_until", skip(self, tx))]
    async fn read_events_until(
        &self,
        tx: &mut PgTx,
        query: &LogQuery,
    ) -> Result<Vec<PersistedEvent>, StoreError> {
        read::read_events_until(&self.inner, tx, query).await
    }

    /// One autocommit statement on a pooled connection: no `BEGIN` or `COMMIT` round trips
    /// at READ COMMITTED, the default isolation.
    #[tracing::instrument(name = "pupsourcing.append_committed", skip_all, fields(stream, events = events.len()))]
    async fn append_committed(
        &self,
        db: &PgDatabase,
        expected: ExpectedVersion,
        events: Vec<Event>,
    ) -> Result<AppendResult, StoreError> {
        if let Some(first) = events.first() {
            tracing::Span::current().record("stream", tracing::field::display(&first.stream));
        }
        // A lone statement runs at the session's level: under REPEATABLE READ or SERIALIZABLE
        // it would lose the serialization failures (and SSI checks) those levels promise.
        if db.isolation() != IsolationLevel::ReadCommitted {
            return append_in_own_transaction(self, db, expected, events).await;
        }
        append::append_committed(&self.inner, db, expected, events).await
    }

    /// One statement on a pooled connection, outside any transaction.
    #[tracing::instrument(name = "pupsourcing.read_stream_committed", skip_all, fields(stream = %stream))]
    async fn read_stream_committed(
        &self,
        db: &PgDatabase,
        stream: &StreamId,
        versions: Versions,
    ) -> Result<Stream, StoreError> {
        let mut conn = db.pool().acquire().await.during("read_stream")?;
        read::read_stream(&self.inner, &mut conn, stream, versions).await
    }
}

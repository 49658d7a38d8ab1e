//! The event store over a [`MemoryDatabase`].

mod append;
mod read;

use async_trait::async_trait;
use pupsourcing::{
    AppendLimits, AppendResult, Event, EventStore, ExpectedVersion, FrontierStatus, LogQuery,
    PersistedEvent, StoreError, Stream, StreamId, Versions,
};

use crate::{MemoryDatabase, MemoryTx};

/// An [`EventStore`] kept in a [`MemoryDatabase`], with the semantics of the SQL adapters: same
/// validation, same errors, atomic commits and rollbacks.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    db: MemoryDatabase,
    limits: AppendLimits,
}

impl MemoryStore {
    /// A store in `db` with the default [`AppendLimits`].
    pub fn new(db: &MemoryDatabase) -> Self {
        Self { db: db.clone(), limits: AppendLimits::default() }
    }

    /// Replaces the append size limits.
    #[must_use]
    pub fn with_limits(mut self, limits: AppendLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The database this store lives in.
    pub fn database(&self) -> &MemoryDatabase {
        &self.db
    }

    /// Marks the event at `position` as undecodable, in `tx`: once committed, every read that
    /// meets it fails with [`StoreError::UnreadableEvent`], as a read on a SQL backend fails on a
    /// row another tool wrote in a shape pupsourcing cannot decode. For testing how consumers
    /// and operators deal with such an event; nothing else sets the mark.
    ///
    /// ```
    /// use pupsourcing::{Database, Event, EventStore, ExpectedVersion, StoreError, StreamId};
    /// use pupsourcing_memory::{MemoryDatabase, MemoryStore};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let db = MemoryDatabase::new();
    /// let store = MemoryStore::new(&db);
    /// let mut tx = db.begin().await?;
    /// let event = Event::new(&StreamId::new("user", "1"), "Registered", b"{}".to_vec());
    /// let position = store.append(&mut tx, ExpectedVersion::NoStream, vec![event]).await?.last_position();
    /// store.make_unreadable(&mut tx, position).await?;
    /// db.commit(tx).await?;
    ///
    /// let mut tx = db.begin_read().await?;
    /// let read = store.read_events(&mut tx, 0, 10).await;
    /// assert!(matches!(read, Err(StoreError::UnreadableEvent { position: p, .. }) if p == position));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn make_unreadable(
        &self,
        tx: &mut MemoryTx,
        position: u64,
    ) -> Result<(), StoreError> {
        tx.write("make_unreadable").await?.unreadable.insert(position);
        Ok(())
    }
}

#[async_trait]
impl EventStore<MemoryDatabase> for MemoryStore {
    async fn append(
        &self,
        tx: &mut MemoryTx,
        expected: ExpectedVersion,
        events: Vec<Event>,
    ) -> Result<AppendResult, StoreError> {
        append::append(tx, &self.limits, expected, events).await
    }

    async fn read_stream(
        &self,
        tx: &mut MemoryTx,
        stream: &StreamId,
        versions: Versions,
    ) -> Result<Stream, StoreError> {
        read::read_stream(tx, stream, versions)
    }

    async fn stream_version(
        &self,
        tx: &mut MemoryTx,
        stream: &StreamId,
    ) -> Result<u64, StoreError> {
        Ok(tx.read(|state| state.stream_heads.get(stream).copied().unwrap_or(0)))
    }

    async fn read_events(
        &self,
        tx: &mut MemoryTx,
        after: u64,
        limit: usize,
    ) -> Result<Vec<PersistedEvent>, StoreError> {
        read::read_events(tx, after, limit)
    }

    async fn latest_position(&self, tx: &mut MemoryTx) -> Result<u64, StoreError> {
        Ok(tx.read(|state| state.latest_position()))
    }

    /// Commits publish whole states in position order, so the committed state's last position
    /// is final; the transaction's own copy is deliberately not consulted.
    async fn safe_frontier(&self, _tx: &mut MemoryTx) -> Result<u64, StoreError> {
        Ok(self.db.committed().latest_position())
    }

    async fn advance_frontier(&self) -> Result<FrontierStatus, StoreError> {
        let latest = self.db.committed().latest_position();
        Ok(FrontierStatus {
            safe_position: latest,
            latest_position: latest,
            ..FrontierStatus::default()
        })
    }

    async fn read_events_until(
        &self,
        tx: &mut MemoryTx,
        query: &LogQuery,
    ) -> Result<Vec<PersistedEvent>, StoreError> {
        read::read_events_until(tx, query)
    }
}

use super::{Snapshot, SnapshotError, SnapshotStats, SnapshotStore};
use crate::{Backend, Database, StreamId};

/// Snapshots outside any caller's transaction, each call in a transaction of its own: how many
/// an aggregate type has and how large they are, dropping them (after a change of the state's
/// shape, or to erase a stream's cached state), and saving or reading one (for tools that write
/// snapshots themselves; inside a transaction, call the [`SnapshotStore`] directly).
///
/// ```
/// use pupsourcing::snapshot::{Snapshot, SnapshotAdmin, SnapshotStore};
/// use pupsourcing::{Database, StreamId};
/// use pupsourcing_memory::MemorySnapshotStore;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let backend = pupsourcing_memory::open();
/// let snapshots = MemorySnapshotStore::new(backend.store());
/// let account = StreamId::new("account", "a-1");
/// let mut tx = backend.database().begin().await?;
/// snapshots.save(&mut tx, &Snapshot::new(account.clone(), 100, 1, b"{}".to_vec())).await?;
/// backend.database().commit(tx).await?;
///
/// let admin = SnapshotAdmin::new(&backend, snapshots);
/// admin.save(&Snapshot::new(account.clone(), 200, 1, b"{}".to_vec())).await?;
/// assert_eq!(admin.latest(&account, 150).await?.map(|s| s.stream_version), Some(100));
/// assert_eq!(admin.stats("account").await?.count, 2);
/// assert_eq!(admin.drop_aggregate_type("account").await?, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct SnapshotAdmin<D, Sn> {
    db: D,
    snapshots: Sn,
}

impl<D: Database, Sn: SnapshotStore<D>> SnapshotAdmin<D, Sn> {
    /// Admin over `snapshots`, the snapshot store in `backend`'s database.
    pub fn new<S, C, K>(backend: &Backend<D, S, C, K>, snapshots: Sn) -> Self {
        Self { db: backend.database().clone(), snapshots }
    }

    /// Saves `snapshot` and commits.
    pub async fn save(&self, snapshot: &Snapshot) -> Result<(), SnapshotError> {
        let mut tx = self.db.begin().await?;
        self.snapshots.save(&mut tx, snapshot).await?;
        self.db.commit(tx).await?;
        Ok(())
    }

    /// The newest committed snapshot of `stream` at or below `at_or_below`.
    pub async fn latest(
        &self,
        stream: &StreamId,
        at_or_below: u64,
    ) -> Result<Option<Snapshot>, SnapshotError> {
        let mut tx = self.db.begin_read().await?;
        let latest = self.snapshots.latest(&mut tx, stream, at_or_below).await;
        self.db.rollback(tx).await?;
        latest
    }

    /// How many snapshots the streams of `aggregate_type` have, and their state bytes.
    pub async fn stats(&self, aggregate_type: &str) -> Result<SnapshotStats, SnapshotError> {
        let mut tx = self.db.begin_read().await?;
        let stats = self.snapshots.stats(&mut tx, aggregate_type).await;
        self.db.rollback(tx).await?;
        stats
    }

    /// Deletes every snapshot of `aggregate_type` (in every bounded context); returns how many.
    pub async fn drop_aggregate_type(&self, aggregate_type: &str) -> Result<u64, SnapshotError> {
        let mut tx = self.db.begin().await?;
        let deleted = self.snapshots.delete_aggregate_type(&mut tx, aggregate_type).await?;
        self.db.commit(tx).await?;
        Ok(deleted)
    }

    /// Deletes every snapshot of `stream`; returns how many.
    pub async fn drop_stream(&self, stream: &StreamId) -> Result<u64, SnapshotError> {
        let mut tx = self.db.begin().await?;
        let deleted = self.snapshots.delete_stream(&mut tx, stream).await?;
        self.db.commit(tx).await?;
        Ok(deleted)
    }
}

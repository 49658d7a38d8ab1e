use super::{SnapshotError, SnapshotStats, SnapshotStore};
use crate::{Backend, Database, StreamId};

/// Operating snapshots, each call in a transaction of its own: how many an aggregate type has
/// and how large they are, and dropping them (after a change of the state's shape, or to erase
/// a stream's cached state).
///
/// ```
/// use pupsourcing::snapshot::{Snapshot, SnapshotAdmin, SnapshotStore};
/// use pupsourcing::{Database, StreamId};
/// use pupsourcing_memory::MemorySnapshotStore;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let backend = pupsourcing_memory::open();
/// let snapshots = MemorySnapshotStore::new(backend.store());
/// let mut tx = backend.database().begin().await?;
/// let account = StreamId::new("account", "a-1");
/// snapshots.save(&mut tx, &Snapshot::new(account, 100, 1, b"{}".to_vec())).await?;
/// backend.database().commit(tx).await?;
///
/// let admin = SnapshotAdmin::new(&backend, snapshots);
/// assert_eq!(admin.stats("account").await?.count, 1);
/// assert_eq!(admin.drop_aggregate_type("account").await?, 1);
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

//! The snapshot store over a [`MemoryDatabase`].

use std::sync::Arc;

use async_trait::async_trait;
use pupsourcing::StreamId;
use pupsourcing::snapshot::{Snapshot, SnapshotError, SnapshotStats, SnapshotStore};

use crate::MemoryStore;
use crate::state::State;
use crate::{MemoryDatabase, MemoryTx};

/// A [`SnapshotStore`] kept in a [`MemoryDatabase`], in the same transactions as its events.
#[derive(Debug, Clone)]
pub struct MemorySnapshotStore;

impl MemorySnapshotStore {
    /// A snapshot store beside `store` (its snapshots live in the transactions of the store's
    /// database).
    pub fn new(store: &MemoryStore) -> Self {
        let _ = store;
        Self
    }
}

fn of_type<'a>(
    state: &'a State,
    aggregate_type: &'a str,
) -> impl Iterator<Item = &'a Arc<Snapshot>> + 'a {
    state
        .snapshots
        .iter()
        .filter(move |(stream, _)| stream.aggregate_type() == aggregate_type)
        .flat_map(|(_, versions)| versions.values())
}

#[async_trait]
impl SnapshotStore<MemoryDatabase> for MemorySnapshotStore {
    async fn save(&self, tx: &mut MemoryTx, snapshot: &Snapshot) -> Result<(), SnapshotError> {
        snapshot.check()?;
        let state = tx.write("save_snapshot").await?;
        let snapshot = Arc::new(snapshot.clone());
        state
            .snapshots
            .entry(snapshot.stream.clone())
            .or_default()
            .insert(snapshot.stream_version, snapshot);
        Ok(())
    }

    async fn latest(
        &self,
        tx: &mut MemoryTx,
        stream: &StreamId,
        at_or_below: u64,
    ) -> Result<Option<Snapshot>, SnapshotError> {
        Ok(tx.read(|state: &State| {
            let versions = state.snapshots.get(stream)?;
            versions.range(..=at_or_below).next_back().map(|(_, found)| Snapshot::clone(found))
        }))
    }

    async fn delete_stream(
        &self,
        tx: &mut MemoryTx,
        stream: &StreamId,
    ) -> Result<u64, SnapshotError> {
        let state = tx.write("delete_snapshots").await?;
        let deleted = state.snapshots.remove(stream).map_or(0, |versions| versions.len());
        Ok(u64::try_from(deleted).unwrap_or(u64::MAX))
    }

    async fn delete_aggregate_type(
        &self,
        tx: &mut MemoryTx,
        aggregate_type: &str,
    ) -> Result<u64, SnapshotError> {
        let state = tx.write("delete_snapshots").await?;
        let mut deleted = 0usize;
        state.snapshots.retain(|stream, versions| {
            let keep = stream.aggregate_type() != aggregate_type;
            if !keep {
                deleted += versions.len();
            }
            keep
        });
        Ok(u64::try_from(deleted).unwrap_or(u64::MAX))
    }

    async fn stats(
        &self,
        tx: &mut MemoryTx,
        aggregate_type: &str,
    ) -> Result<SnapshotStats, SnapshotError> {
        Ok(tx.read(|state: &State| {
            of_type(state, aggregate_type).fold(SnapshotStats::default(), |stats, snapshot| {
                let bytes = u64::try_from(snapshot.state.len()).unwrap_or(u64::MAX);
                SnapshotStats {
                    count: stats.count + 1,
                    state_bytes: stats.state_bytes.saturating_add(bytes),
                }
            })
        }))
    }
}

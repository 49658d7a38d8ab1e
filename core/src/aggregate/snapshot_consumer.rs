//! Snapshots written after the fact, by a consumer the worker runs.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::aggregate::session::Session;
use crate::aggregate::snapshotting::SnapshotFrequency;
use crate::aggregate::{Decider, Repository};
use crate::typed::TypedError;
use crate::worker::{BatchError, Consumer, HandlerError};
use crate::{Database, DomainEvent, EventFilter, EventStore, PersistedEvent, StreamId};

/// A consumer that writes a repository's snapshots as its events reach the worker, for
/// [`SnapshotWrite::Deferred`](super::SnapshotWrite::Deferred): commands stay one append, and
/// snapshots follow a moment later, in the consumer's batch transactions.
///
/// Each batch writes at most one snapshot per stream, at the highest version the
/// [`SnapshotPolicy`](super::SnapshotPolicy) makes due: for `Every(n)` the last multiple of `n`
/// the batch reached, for `ReplayOver(n)` the stream's last version in the batch when it is more
/// than `n` past the newest snapshot. It only reads committed events below the safe frontier,
/// so it never snapshots a version that could still roll back. Made by
/// [`Repository::snapshot_consumer`]; its filter is the event type's aggregate type, if the
/// type names one, else every event (narrow it with
/// [`with_filter`](SnapshotConsumer::with_filter)).
pub struct SnapshotConsumer<D: Database, S, Dc: Decider> {
    name: String,
    filter: EventFilter,
    repository: Repository<D, S, Dc>,
}

impl<D, S, Dc> Repository<D, S, Dc>
where
    D: Database,
    S: EventStore<D> + Clone,
    Dc: Decider,
{
    /// The consumer that writes this repository's snapshots, named `name` (its checkpoints).
    /// Without [`with_snapshots`](Repository::with_snapshots) it handles events and writes
    /// nothing.
    pub fn snapshot_consumer(&self, name: impl Into<String>) -> SnapshotConsumer<D, S, Dc> {
        let filter = match <Dc::Event as DomainEvent>::AGGREGATE_TYPE {
            Some(aggregate_type) => EventFilter::all().aggregate_types([aggregate_type]),
            None => EventFilter::all(),
        };
        SnapshotConsumer { name: name.into(), filter, repository: self.clone() }
    }
}

impl<D: Database, S, Dc: Decider> SnapshotConsumer<D, S, Dc> {
    /// Replaces the filter: the consumer must only receive events of the repository's streams.
    #[must_use]
    pub fn with_filter(mut self, filter: EventFilter) -> Self {
        self.filter = filter;
        self
    }
}

impl<D, S, Dc> SnapshotConsumer<D, S, Dc>
where
    D: Database,
    S: EventStore<D> + Clone,
    Dc: Decider + 'static,
{
    /// Snapshots `stream`, whose events `first..=last` are in the batch, if one is due.
    async fn snapshot(
        &self,
        tx: &mut D::Tx,
        stream: &StreamId,
        first: u64,
        last: u64,
    ) -> Result<(), TypedError> {
        let Some(snapshots) = &self.repository.snapshots else { return Ok(()) };
        let target = match snapshots.policy.frequency {
            SnapshotFrequency::Never | SnapshotFrequency::Every(0) => return Ok(()),
            SnapshotFrequency::Every(n) => last - last % n,
            SnapshotFrequency::ReplayOver(_) => last,
        };
        if target < first {
            return Ok(());
        }
        let (loaded, _) = self.repository.load_events(&mut Session::Tx(tx), stream, target).await?;
        let base = loaded.snapshot.unwrap_or(0);
        if loaded.version != target
            || base == target
            || !snapshots.policy.due(base, target - 1, target)
        {
            return Ok(());
        }
        let snapshot = snapshots.encode(stream, target, &loaded.state);
        snapshots.save(tx, snapshot).await?;
        Ok(())
    }
}

#[async_trait]
impl<D, S, Dc> Consumer<D> for SnapshotConsumer<D, S, Dc>
where
    D: Database,
    S: EventStore<D> + Clone,
    Dc: Decider + 'static,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn filter(&self) -> EventFilter {
        self.filter.clone()
    }

    async fn handle(&self, tx: &mut D::Tx, event: &PersistedEvent) -> Result<(), HandlerError> {
        let version = event.aggregate_version;
        Ok(self.snapshot(tx, event.stream(), version, version).await?)
    }

    async fn handle_batch(
        &self,
        tx: &mut D::Tx,
        events: &[PersistedEvent],
    ) -> Result<(), BatchError> {
        let mut streams: BTreeMap<&StreamId, (u64, u64, u64)> = BTreeMap::new();
        for event in events {
            let version = event.aggregate_version;
            streams
                .entry(event.stream())
                .and_modify(|(_, last, position)| {
                    (*last, *position) = (version, event.global_position)
                })
                .or_insert((version, version, event.global_position));
        }
        for (stream, (first, last, position)) in streams {
            self.snapshot(tx, stream, first, last)
                .await
                .map_err(|err| BatchError::at(position, err))?;
        }
        Ok(())
    }
}

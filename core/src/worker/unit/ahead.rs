//! Reading a unit's next batch while the current one is handled and committed.
//!
//! While a unit catches up, a full batch's successor reads from the position the batch will
//! commit as its checkpoint. That read does not depend on the commit: every position at or
//! below the frontier the batch read up to is committed or will never be, so the next batch
//! would read the same rows. The batch therefore starts it, in a read transaction of its own,
//! before handing its events to the consumer; the next batch takes the result instead of
//! reading, once its claim has confirmed the checkpoint the read started from. The commit's
//! durable flush and the read overlap.

use std::sync::Arc;

use tokio::task::JoinHandle;

use crate::spi::Coordinator;
use crate::worker::context::Context;
use crate::{Database, EventFilter, EventStore, LogQuery, PersistedEvent};

/// A read of the events in `(after, bound]` that pass a unit's filter, at most `size` of them,
/// running in a task of its own. Dropping it aborts the read.
pub(crate) struct ReadAhead {
    after: u64,
    bound: u64,
    size: usize,
    task: JoinHandle<Option<Vec<PersistedEvent>>>,
}

impl ReadAhead {
    pub(crate) fn start<D, S, C>(
        ctx: &Arc<Context<D, S, C>>,
        filter: &EventFilter,
        after: u64,
        bound: u64,
        size: usize,
    ) -> Self
    where
        D: Database,
        S: EventStore<D>,
        C: Coordinator<D>,
    {
        let query = LogQuery::up_to(bound).after(after).filter(filter.clone()).limit(size);
        let ctx = Arc::clone(ctx);
        let task = tokio::spawn(async move {
            let mut tx = ctx
                .db
                .begin_read()
                .await
                .map_err(|err| tracing::debug!(error = %err, "read-ahead could not begin; the batch reads itself"))
                .ok()?;
            let read = ctx.store.read_events_until(&mut tx, &query).await;
            if let Err(err) = ctx.db.rollback(tx).await {
                tracing::debug!(error = %err, "could not end a read-ahead transaction");
            }
            read.map_err(
                |err| tracing::debug!(error = %err, "read-ahead failed; the batch reads itself"),
            )
            .ok()
        });
        Self { after, bound, size, task }
    }

    /// Waits for the read. `None` if it failed: the batch then reads for itself, and reports
    /// the failure if it persists.
    pub(crate) async fn finish(mut self) -> Option<Prefetched> {
        let events = (&mut self.task).await.ok().flatten()?;
        Some(Prefetched { after: self.after, bound: self.bound, size: self.size, events })
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The events a finished [`ReadAhead`] found.
#[derive(Debug)]
pub(crate) struct Prefetched {
    after: u64,
    bound: u64,
    size: usize,
    events: Vec<PersistedEvent>,
}

impl Prefetched {
    /// The batch that reading `(checkpoint, read_to]`, at most `size` events, would return, if
    /// these events determine it: the read must have started at `checkpoint` with the same
    /// limit, and either reached at least as far (only the events up to `read_to` are kept) or
    /// found a full batch before its end.
    pub(crate) fn serves(
        self,
        checkpoint: u64,
        read_to: u64,
        size: usize,
    ) -> Option<Vec<PersistedEvent>> {
        if self.after != checkpoint || self.size != size {
            return None;
        }
        if read_to <= self.bound {
            let mut events = self.events;
            events.retain(|event| event.global_position <= read_to);
            Some(events)
        } else if self.events.len() >= size {
            Some(self.events)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::events;
    use super::*;

    fn prefetched(after: u64, bound: u64, size: usize, positions: &[u64]) -> Prefetched {
        Prefetched { after, bound, size, events: events(positions) }
    }

    fn positions(events: Option<Vec<PersistedEvent>>) -> Option<Vec<u64>> {
        events.map(|events| events.iter().map(|e| e.global_position).collect())
    }

    #[test]
    fn a_read_from_another_checkpoint_or_of_another_size_serves_nothing() {
        assert_eq!(positions(prefetched(10, 50, 3, &[11, 12, 13]).serves(9, 50, 3)), None);
        assert_eq!(positions(prefetched(10, 50, 3, &[11, 12, 13]).serves(13, 50, 3)), None);
        assert_eq!(positions(prefetched(10, 50, 3, &[11, 12, 13]).serves(10, 50, 1)), None);
    }

    #[test]
    fn a_read_that_reached_as_far_serves_the_events_up_to_the_new_bound() {
        let served = prefetched(10, 50, 3, &[11, 20, 30]).serves(10, 50, 3);
        assert_eq!(positions(served), Some(vec![11, 20, 30]));
        let served = prefetched(10, 50, 3, &[11, 20, 30]).serves(10, 25, 3);
        assert_eq!(positions(served), Some(vec![11, 20]));
        let served = prefetched(10, 50, 3, &[]).serves(10, 40, 3);
        assert_eq!(positions(served), Some(vec![]));
    }

    #[test]
    fn a_shorter_read_serves_a_later_bound_only_when_it_was_full() {
        let served = prefetched(10, 50, 3, &[11, 20, 30]).serves(10, 90, 3);
        assert_eq!(positions(served), Some(vec![11, 20, 30]));
        assert_eq!(positions(prefetched(10, 50, 3, &[11, 20]).serves(10, 90, 3)), None);
    }
}

//! Operating consumers: inspect, pause, resume, skip, rewind, rebuild.

use crate::spi::Operations;
use std::time::{Duration, Instant};

use crate::worker::coordinator::{NodeStatus, UnitStatus};
use crate::{Backend, Consumer, Database, EventStore, FrontierStatus, WorkerError};

/// A unit's state plus how far it is behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerStatus {
    /// The unit's recorded state.
    pub unit: UnitStatus,
    /// Positions between the safe frontier (or the drain limit) and the checkpoint.
    pub lag: u64,
}

/// Admin operations on the consumers of a database, for an operator endpoint or a CLI. Changes
/// take effect at the running workers' next batch; no worker needs restarting.
pub struct Admin<D: Database, S, C> {
    db: D,
    store: S,
    coordinator: C,
}

impl<D, S, C> Admin<D, S, C>
where
    D: Database,
    S: EventStore<D>,
    C: Operations<D>,
{
    /// Admin over the consumers of `backend`.
    pub fn new<K>(backend: &Backend<D, S, C, K>) -> Self
    where
        S: Clone,
        C: Clone,
    {
        Self {
            db: backend.database().clone(),
            store: backend.store().clone(),
            coordinator: backend.coordinator().clone(),
        }
    }

    /// Every unit: owner, checkpoint, lag, pause state, last error.
    pub async fn status(&self) -> Result<Vec<ConsumerStatus>, WorkerError> {
        let units = self.coordinator.status().await?;
        let mut tx = self.db.begin_read().await?;
        let frontier = self.store.safe_frontier(&mut tx).await?;
        self.db.rollback(tx).await?;
        Ok(units
            .into_iter()
            .map(|unit| {
                let limit = unit.upto.map_or(frontier, |upto| upto.min(frontier));
                ConsumerStatus { lag: limit.saturating_sub(unit.checkpoint), unit }
            })
            .collect())
    }

    /// Every registered node: what it runs, how long ago it last beat, whether it leads.
    pub async fn nodes(&self) -> Result<Vec<NodeStatus>, WorkerError> {
        self.coordinator.nodes().await
    }

    /// Where the safe frontier stands: the lag behind the latest position and the open holes.
    /// It advances the frontier first, as any process may at any time.
    pub async fn frontier(&self) -> Result<FrontierStatus, WorkerError> {
        Ok(self.store.advance_frontier().await?)
    }

    /// Pauses a consumer (one partition, or all); returns how many units were paused.
    pub async fn pause(
        &self,
        consumer: &str,
        partition: Option<u32>,
    ) -> Result<usize, WorkerError> {
        self.known(self.coordinator.set_paused(consumer, partition, true).await?, consumer)
    }

    /// Resumes a consumer and clears its failure counts.
    pub async fn resume(
        &self,
        consumer: &str,
        partition: Option<u32>,
    ) -> Result<usize, WorkerError> {
        self.known(self.coordinator.set_paused(consumer, partition, false).await?, consumer)
    }

    /// Skips the event each failing unit of the consumer is stuck on, and resumes those units.
    /// Returns the skipped positions. The events before it in the failed batch are still
    /// handled; only the failing one is not.
    pub async fn skip_failed_event(
        &self,
        consumer: &str,
        partition: Option<u32>,
    ) -> Result<Vec<u64>, WorkerError> {
        self.coordinator.skip_failed(consumer, partition).await
    }

    /// Moves every checkpoint of the consumer to `position`: back to replay (0 replays
    /// everything), forward to skip. The consumer's read model is not touched.
    pub async fn rewind(&self, consumer: &str, position: u64) -> Result<(), WorkerError> {
        let mut tx = self.db.begin().await?;
        self.coordinator.reset_checkpoints(&mut tx, consumer, position).await?;
        Ok(self.db.commit(tx).await?)
    }

    /// Clears the consumer's read model with its [`reset`](Consumer::reset) hook and replays it
    /// from the beginning, both in one transaction: the read model is never half cleared.
    /// Returns the highest position committed at that moment: once the consumer is back there
    /// ([`wait_for`](Self::wait_for)), the rebuilt read model holds everything it held before,
    /// and every event committed before the rebuild.
    pub async fn rebuild(&self, consumer: &dyn Consumer<D>) -> Result<u64, WorkerError> {
        let mut tx = self.db.begin().await?;
        self.coordinator.reset_checkpoints(&mut tx, consumer.name(), 0).await?;
        if let Err(source) = consumer.reset(&mut tx).await {
            self.db.rollback(tx).await?;
            return Err(WorkerError::ResetFailed { consumer: consumer.name().to_owned(), source });
        }
        let latest = self.store.latest_position(&mut tx).await?;
        self.db.commit(tx).await?;
        Ok(latest)
    }

    /// Waits until `consumer` has processed every matching event up to `position` (for
    /// read-your-writes: the `last_position()` of an append; in tests: the end of what they
    /// wrote), checking its units' checkpoints with a back-off from 5 ms to 250 ms.
    ///
    /// Fails at once with [`WorkerError::ConsumerPaused`] if a unit that has not got there is
    /// paused (it would never get there), and with [`WorkerError::WaitTimedOut`] after `timeout`,
    /// saying how far the consumer got (or that it has no units yet: no worker runs it).
    pub async fn wait_for(
        &self,
        consumer: &str,
        position: u64,
        timeout: Duration,
    ) -> Result<(), WorkerError> {
        // A timeout too long to add to the clock waits for ever.
        let deadline = Instant::now().checked_add(timeout);
        let mut pause = Duration::from_millis(5);
        loop {
            let units: Vec<UnitStatus> = self
                .coordinator
                .status()
                .await?
                .into_iter()
                .filter(|unit| unit.unit.consumer == consumer)
                // A unit draining below `position` is being repartitioned away; its successors
                // cover the rest.
                .filter(|unit| unit.upto.is_none_or(|upto| upto >= position))
                .collect();
            let behind: Vec<&UnitStatus> =
                units.iter().filter(|unit| unit.checkpoint < position).collect();
            if !units.is_empty() && behind.is_empty() {
                return Ok(());
            }
            if let Some(stuck) = behind.iter().find(|unit| unit.paused) {
                return Err(WorkerError::ConsumerPaused {
                    consumer: consumer.to_owned(),
                    checkpoint: stuck.checkpoint,
                    error: stuck.last_error.clone(),
                });
            }
            let now = Instant::now();
            if deadline.is_some_and(|deadline| now >= deadline) {
                return Err(WorkerError::WaitTimedOut {
                    consumer: consumer.to_owned(),
                    position,
                    reached: behind.iter().map(|unit| unit.checkpoint).min(),
                });
            }
            let left = deadline.map_or(pause, |deadline| deadline - now);
            tokio::time::sleep(pause.min(left)).await;
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    }

    /// Waits until `consumer` has caught up with everything committed when the call began (the
    /// highest visible position, then [`wait_for`](Self::wait_for)). Returns that position.
    pub async fn wait_caught_up(
        &self,
        consumer: &str,
        timeout: Duration,
    ) -> Result<u64, WorkerError> {
        let mut tx = self.db.begin_read().await?;
        let latest = self.store.latest_position(&mut tx).await;
        self.db.rollback(tx).await?;
        let position = latest?;
        self.wait_for(consumer, position, timeout).await?;
        Ok(position)
    }

    fn known(&self, changed: usize, consumer: &str) -> Result<usize, WorkerError> {
        if changed == 0 {
            return Err(WorkerError::UnknownConsumer(consumer.to_owned()));
        }
        Ok(changed)
    }
}

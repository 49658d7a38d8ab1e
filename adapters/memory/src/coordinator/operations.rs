//! [`Operations`] in the memory backend: status, pauses, skips and checkpoint resets.

use async_trait::async_trait;
use std::time::Instant;

use pupsourcing::spi::{LiveNode, NodeStatus, Operations};
use pupsourcing::{UnitStatus, WorkerError};

use super::{MemoryCoordinator, units_of};
use crate::{MemoryDatabase, MemoryTx};

#[async_trait]
impl Operations<MemoryDatabase> for MemoryCoordinator {
    async fn status(&self) -> Result<Vec<UnitStatus>, WorkerError> {
        Ok(self.read(|worker| {
            worker
                .units
                .iter()
                .map(|(unit, row)| UnitStatus {
                    unit: unit.clone(),
                    owner: row.owner.clone(),
                    epoch: row.epoch,
                    checkpoint: row.checkpoint,
                    upto: row.upto,
                    paused: row.paused,
                    attempts: row.attempts,
                    last_error: row.last_error.clone(),
                    failed_position: row.failed_position,
                    skip_position: row.skip_position,
                    failing_since: row.failing_since,
                })
                .collect()
        }))
    }

    async fn nodes(&self) -> Result<Vec<NodeStatus>, WorkerError> {
        Ok(self.read(|worker| {
            let now = Instant::now();
            let leader = worker
                .leader
                .as_ref()
                .filter(|row| row.expires_at > now)
                .and_then(|row| row.node_id.as_deref());
            worker
                .nodes
                .values()
                .map(|row| NodeStatus {
                    node: LiveNode { info: row.info.clone(), started_at: row.started_at },
                    heartbeat_age: now.saturating_duration_since(row.heartbeat_at),
                    leader: leader == Some(row.info.node_id.as_str()),
                })
                .collect()
        }))
    }

    async fn set_paused(
        &self,
        consumer: &str,
        partition: Option<u32>,
        paused: bool,
    ) -> Result<usize, WorkerError> {
        self.write("set_paused", |worker| {
            let mut changed = 0;
            for row in units_of(worker, consumer, partition) {
                row.paused = paused;
                if !paused {
                    row.attempts = 0;
                    row.failing_since = None;
                }
                changed += 1;
            }
            changed
        })
        .await
    }

    async fn skip_failed(
        &self,
        consumer: &str,
        partition: Option<u32>,
    ) -> Result<Vec<u64>, WorkerError> {
        self.write("skip_failed", |worker| {
            let mut skipped = Vec::new();
            for row in units_of(worker, consumer, partition).filter(|row| row.paused) {
                if let Some(position) = row.failed_position.take() {
                    row.skip_position = Some(position);
                    row.paused = false;
                    row.attempts = 0;
                    row.last_error = None;
                    row.failing_since = None;
                    skipped.push(position);
                }
            }
            skipped
        })
        .await
    }

    async fn reset_checkpoints(
        &self,
        tx: &mut MemoryTx,
        consumer: &str,
        position: u64,
    ) -> Result<(), WorkerError> {
        let worker = &mut tx.write("reset_checkpoints").await?.worker;
        match worker.consumers.get(consumer) {
            None => return Err(WorkerError::UnknownConsumer(consumer.to_owned())),
            Some(row) if row.transition.is_some() => {
                return Err(WorkerError::Repartitioning(consumer.to_owned()));
            }
            Some(_) => {}
        }
        for row in units_of(worker, consumer, None) {
            row.checkpoint = position;
            row.attempts = 0;
            row.last_error = None;
            row.failed_position = None;
            row.skip_position = None;
            row.failing_since = None;
        }
        Ok(())
    }
}

//! [`Batches`] in the memory backend: checkpoints moved in batch transactions, and failures.

use async_trait::async_trait;
use chrono::Utc;
use pupsourcing::spi::{Batches, Claim, FailureRecord, FailureReport, Wakeups};
use pupsourcing::{UnitId, WorkerError};

use super::{MemoryCoordinator, owned};
use crate::{MemoryDatabase, MemoryTx};

#[async_trait]
impl Batches<MemoryDatabase> for MemoryCoordinator {
    async fn begin_batch(
        &self,
        tx: &mut MemoryTx,
        unit: &UnitId,
        node_id: &str,
        epoch: u64,
    ) -> Result<Claim, WorkerError> {
        let worker = &tx.write("begin_batch").await?.worker;
        Ok(match worker.units.get(unit) {
            Some(row) if owned(row, node_id, epoch) && row.paused => Claim::Paused,
            Some(row) if owned(row, node_id, epoch) => {
                Claim::Ready { checkpoint: row.checkpoint, upto: row.upto, skip: row.skip_position }
            }
            _ => Claim::Fenced,
        })
    }

    async fn commit_batch(
        &self,
        tx: &mut MemoryTx,
        unit: &UnitId,
        node_id: &str,
        epoch: u64,
        checkpoint: u64,
    ) -> Result<bool, WorkerError> {
        let worker = &mut tx.write("commit_batch").await?.worker;
        let Some(row) = worker.units.get_mut(unit).filter(|row| owned(row, node_id, epoch)) else {
            return Ok(false);
        };
        row.checkpoint = checkpoint;
        if row.skip_position.is_some_and(|skip| skip <= checkpoint) {
            row.skip_position = None;
        }
        row.attempts = 0;
        row.last_error = None;
        row.failed_position = None;
        row.failing_since = None;
        Ok(true)
    }

    async fn record_failure(
        &self,
        unit: &UnitId,
        failure: &FailureReport,
    ) -> Result<FailureRecord, WorkerError> {
        self.write("record_failure", |worker| {
            let Some(row) = worker.units.get_mut(unit) else {
                return FailureRecord { attempts: 0, paused: false };
            };
            let now = Utc::now();
            row.attempts = row.attempts.saturating_add(1);
            row.last_error = Some(failure.error.clone());
            row.failed_position = failure.position;
            let due = failure.pause.is_some_and(|rule| {
                let since = *row.failing_since.get_or_insert(now);
                row.attempts >= rule.attempts
                    && chrono::Duration::from_std(rule.window())
                        .ok()
                        .and_then(|window| now.checked_sub_signed(window))
                        .is_some_and(|threshold| since <= threshold)
            });
            let paused = !row.paused && due;
            row.paused |= paused;
            FailureRecord { attempts: row.attempts, paused }
        })
        .await
    }

    async fn clear_failures(&self, unit: &UnitId) -> Result<(), WorkerError> {
        self.write("clear_failures", |worker| {
            if let Some(row) = worker.units.get_mut(unit) {
                row.attempts = 0;
                row.last_error = None;
                row.failed_position = None;
                row.failing_since = None;
            }
        })
        .await
    }

    fn wakeups(&self) -> Wakeups {
        self.db.subscribe_commits()
    }
}

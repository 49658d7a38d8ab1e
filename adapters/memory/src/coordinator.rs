//! The [`Coordinator`] over a [`MemoryDatabase`]: the same rules as the SQL adapters, with the
//! process clock standing in for the database clock.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use pupsourcing::spi::{
    Assignment, Claim, ConsumerRecord, Coordinator, FailureRecord, FailureReport, Lease, LiveNode,
    NodeInfo, Plan, Topology, UnitRecord, Wakeups,
};
use pupsourcing::{Database, UnitId, UnitStatus, WorkerError};

use crate::MemoryStore;
use crate::state::{ConsumerRow, LeaderRow, NodeRow, UnitRow, WorkerState};
use crate::{MemoryDatabase, MemoryTx};

/// A [`Coordinator`] kept in a [`MemoryDatabase`], for running workers in unit tests.
#[derive(Debug, Clone)]
pub struct MemoryCoordinator {
    db: MemoryDatabase,
}

impl MemoryCoordinator {
    /// A coordinator in the database of `store`.
    pub fn new(store: &MemoryStore) -> Self {
        Self { db: store.database().clone() }
    }

    async fn write<T>(
        &self,
        operation: &'static str,
        f: impl FnOnce(&mut WorkerState) -> T,
    ) -> Result<T, WorkerError> {
        let mut tx = self.db.begin().await?;
        let result = f(&mut tx.write(operation).await?.worker);
        self.db.commit(tx).await?;
        Ok(result)
    }

    fn read<T>(&self, f: impl FnOnce(&WorkerState) -> T) -> T {
        f(&self.db.committed().worker)
    }
}

fn owned(row: &UnitRow, node_id: &str, epoch: u64) -> bool {
    row.owner.as_deref() == Some(node_id) && row.epoch == epoch
}

fn units_of<'a>(
    worker: &'a mut WorkerState,
    consumer: &'a str,
    partition: Option<u32>,
) -> impl Iterator<Item = &'a mut UnitRow> + 'a {
    worker
        .units
        .iter_mut()
        .filter(move |(unit, _)| {
            unit.consumer == consumer && partition.is_none_or(|p| p == unit.partition)
        })
        .map(|(_, row)| row)
}

fn create_units(worker: &mut WorkerState, consumer: &str, partitions: u32, checkpoint: u64) {
    for partition in 0..partitions.max(1) {
        let unit = UnitId::new(consumer, partitions.max(1), partition);
        worker.units.entry(unit).or_insert_with(|| UnitRow { checkpoint, ..UnitRow::default() });
    }
}

fn apply(worker: &mut WorkerState, plan: &Plan) {
    for spec in &plan.create {
        if !worker.consumers.contains_key(&spec.name) {
            worker.consumers.insert(
                spec.name.clone(),
                ConsumerRow { partitions: spec.partitions, transition: None },
            );
            create_units(worker, &spec.name, spec.partitions, 0);
        }
    }
    for start in &plan.start_transitions {
        if worker.consumers.get(&start.consumer).is_none_or(|c| c.transition.is_some()) {
            continue;
        }
        let old = |unit: &UnitId| {
            unit.consumer == start.consumer && unit.partitions == start.from_partitions
        };
        let drain_position = worker
            .units
            .iter()
            .filter(|(unit, _)| old(unit))
            .map(|(_, row)| row.checkpoint)
            .fold(start.drain_position, u64::max);
        if let Some(consumer) = worker.consumers.get_mut(&start.consumer) {
            consumer.partitions = start.to_partitions;
            consumer.transition = Some(pupsourcing::spi::Transition {
                from_partitions: start.from_partitions,
                drain_position,
            });
        }
        for (_, row) in worker.units.iter_mut().filter(|(unit, _)| old(unit)) {
            row.upto = Some(drain_position);
        }
    }
    for finish in &plan.finish_transitions {
        worker.units.retain(|unit, _| {
            !(unit.consumer == finish.consumer && unit.partitions == finish.from_partitions)
        });
        if let Some(consumer) = worker.consumers.get_mut(&finish.consumer) {
            consumer.transition = None;
        }
        create_units(worker, &finish.consumer, finish.to_partitions, finish.drain_position);
    }
    for (unit, owner) in &plan.assign {
        if let Some(row) = worker.units.get_mut(unit) {
            row.owner = owner.clone();
            row.epoch += 1;
        }
    }
}

#[async_trait]
impl Coordinator<MemoryDatabase> for MemoryCoordinator {
    async fn heartbeat(&self, node: &NodeInfo) -> Result<(), WorkerError> {
        self.write("heartbeat", |worker| {
            let now = Instant::now();
            worker
                .nodes
                .entry(node.node_id.clone())
                .and_modify(|row| {
                    row.info = node.clone();
                    row.heartbeat_at = now;
                })
                .or_insert_with(|| NodeRow {
                    info: node.clone(),
                    started_at: Utc::now(),
                    heartbeat_at: now,
                });
        })
        .await
    }

    async fn leave(&self, node_id: &str) -> Result<(), WorkerError> {
        self.write("leave", |worker| {
            worker.nodes.remove(node_id);
        })
        .await
    }

    async fn live_nodes(&self, timeout: Duration) -> Result<Vec<LiveNode>, WorkerError> {
        Ok(self.read(|worker| {
            worker
                .nodes
                .values()
                .filter(|row| row.heartbeat_at.elapsed() < timeout)
                .map(|row| LiveNode { info: row.info.clone(), started_at: row.started_at })
                .collect()
        }))
    }

    async fn acquire_lease(
        &self,
        node_id: &str,
        duration: Duration,
    ) -> Result<Option<Lease>, WorkerError> {
        self.write("acquire_lease", |worker| {
            let now = Instant::now();
            let row =
                worker.leader.get_or_insert(LeaderRow { node_id: None, epoch: 0, expires_at: now });
            let expired = row.expires_at <= now || row.node_id.is_none();
            let mine = row.node_id.as_deref() == Some(node_id);
            if !(expired || mine) {
                return None;
            }
            if expired {
                row.epoch += 1;
            }
            row.node_id = Some(node_id.to_owned());
            row.expires_at = now + duration;
            Some(Lease { node_id: node_id.to_owned(), epoch: row.epoch })
        })
        .await
    }

    async fn release_lease(&self, lease: &Lease) -> Result<(), WorkerError> {
        self.write("release_lease", |worker| {
            if let Some(row) = worker.leader.as_mut().filter(|r| {
                r.node_id.as_deref() == Some(lease.node_id.as_str()) && r.epoch == lease.epoch
            }) {
                row.node_id = None;
                row.expires_at = Instant::now();
            }
        })
        .await
    }

    async fn topology(&self) -> Result<Topology, WorkerError> {
        Ok(self.read(|worker| Topology {
            consumers: worker
                .consumers
                .iter()
                .map(|(name, row)| ConsumerRecord {
                    name: name.clone(),
                    partitions: row.partitions,
                    transition: row.transition,
                })
                .collect(),
            units: worker
                .units
                .iter()
                .map(|(unit, row)| UnitRecord {
                    unit: unit.clone(),
                    owner: row.owner.clone(),
                    epoch: row.epoch,
                    checkpoint: row.checkpoint,
                })
                .collect(),
        }))
    }

    async fn apply_plan(&self, lease: &Lease, plan: &Plan) -> Result<bool, WorkerError> {
        let mut tx = self.db.begin().await?;
        let worker = &mut tx.write("apply_plan").await?.worker;
        let valid = worker.leader.as_ref().is_some_and(|row| {
            row.node_id.as_deref() == Some(lease.node_id.as_str())
                && row.epoch == lease.epoch
                && row.expires_at > Instant::now()
        });
        if !valid {
            return Ok(false);
        }
        apply(worker, plan);
        self.db.commit(tx).await?;
        Ok(true)
    }

    async fn assignments_of(&self, node_id: &str) -> Result<Vec<Assignment>, WorkerError> {
        Ok(self.read(|worker| {
            worker
                .units
                .iter()
                .filter(|(_, row)| row.owner.as_deref() == Some(node_id))
                .map(|(unit, row)| Assignment { unit: unit.clone(), epoch: row.epoch })
                .collect()
        }))
    }

    async fn release_units(&self, node_id: &str) -> Result<(), WorkerError> {
        self.write("release_units", |worker| {
            for row in worker.units.values_mut().filter(|row| row.owner.as_deref() == Some(node_id))
            {
                row.owner = None;
                row.epoch += 1;
            }
        })
        .await
    }

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

    fn wakeups(&self) -> Wakeups {
        self.db.subscribe_commits()
    }
}

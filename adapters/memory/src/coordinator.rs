//! The [`Coordinator`](pupsourcing::spi::Coordinator) over a [`MemoryDatabase`]: the same rules as the SQL adapters, with the
//! process clock standing in for the database clock.

mod assignments;
mod batches;
mod leadership;
mod membership;
mod operations;

use pupsourcing::spi::Plan;
use pupsourcing::{Database, UnitId, WorkerError};

use crate::MemoryDatabase;
use crate::MemoryStore;
use crate::state::{ConsumerRow, UnitRow, WorkerState};

/// A [`Coordinator`](pupsourcing::spi::Coordinator) kept in a [`MemoryDatabase`], for running workers in unit tests.
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

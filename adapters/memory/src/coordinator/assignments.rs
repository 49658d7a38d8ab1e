//! [`Assignments`] in the memory backend: consumers, their units and plans.

use std::time::Instant;

use async_trait::async_trait;
use pupsourcing::spi::{
    Assignment, Assignments, ConsumerRecord, Lease, Plan, Topology, UnitRecord,
};
use pupsourcing::{Database, WorkerError};

use super::{MemoryCoordinator, apply};

#[async_trait]
impl Assignments for MemoryCoordinator {
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
}

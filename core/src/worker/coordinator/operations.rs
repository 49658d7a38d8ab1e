use async_trait::async_trait;

use super::{NodeStatus, UnitStatus};
use crate::{Database, WorkerError};

/// What an operator sees and changes: every unit's state, pauses, skips and checkpoint resets.
///
/// # Contract
/// Changes take effect at the running workers' next batch.
#[async_trait]
pub trait Operations<D: Database>: Send + Sync + 'static {
    /// The state of every unit.
    async fn status(&self) -> Result<Vec<UnitStatus>, WorkerError>;

    /// Every registered node, live or not, by id.
    async fn nodes(&self) -> Result<Vec<NodeStatus>, WorkerError>;

    /// Pauses or resumes a consumer's current units (one partition, or all). Resuming also
    /// clears the failure count. Returns how many units changed.
    async fn set_paused(
        &self,
        consumer: &str,
        partition: Option<u32>,
        paused: bool,
    ) -> Result<usize, WorkerError>;

    /// Marks the failing event of each unit of `consumer` (one partition, or all) that is paused
    /// with a failing position to be skipped, and resumes the unit; units that are only retrying
    /// are left alone. Returns the positions that will be skipped.
    async fn skip_failed(
        &self,
        consumer: &str,
        partition: Option<u32>,
    ) -> Result<Vec<u64>, WorkerError>;

    /// Sets the checkpoint of every unit of `consumer` to `position` inside `tx` and clears
    /// their failures; refused while the consumer is being repartitioned.
    async fn reset_checkpoints(
        &self,
        tx: &mut D::Tx,
        consumer: &str,
        position: u64,
    ) -> Result<(), WorkerError>;
}

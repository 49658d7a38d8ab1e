use async_trait::async_trait;

use super::{Claim, FailureRecord, FailureReport, UnitId, Wakeups};
use crate::{Database, WorkerError};

/// Checkpoints moved inside batch transactions, and the failures of batches.
///
/// # Contract
/// - [`begin_batch`](Batches::begin_batch) locks the unit's checkpoint for the rest of the
///   caller's transaction (batches of one unit never overlap).
/// - [`commit_batch`](Batches::commit_batch) moves the checkpoint only if the caller still owns
///   the unit with the same epoch, checked so that an assignment change cannot commit in
///   between (the caller must then roll back).
/// - Failures take effect for the next batch.
#[async_trait]
pub trait Batches<D: Database>: Send + Sync + 'static {
    /// Starts a batch inside `tx`: locks the unit's checkpoint and reports what the batch may do.
    async fn begin_batch(
        &self,
        tx: &mut D::Tx,
        unit: &UnitId,
        node_id: &str,
        epoch: u64,
    ) -> Result<Claim, WorkerError>;

    /// Ends a batch inside `tx`: moves the checkpoint to `checkpoint`, forgets a skip at or below
    /// it and clears the unit's failure record (attempts, error, position, start of the failure
    /// run), if `node_id` still owns `unit` at `epoch`. `false`: fenced, roll back.
    async fn commit_batch(
        &self,
        tx: &mut D::Tx,
        unit: &UnitId,
        node_id: &str,
        epoch: u64,
        checkpoint: u64,
    ) -> Result<bool, WorkerError>;

    /// Records a failed batch: counts the attempt and keeps the error and the position. For a
    /// failure that may pause (`failure.pause` set), notes when the run of such failures began
    /// (the database's clock, at the first of them) and pauses the unit once both thresholds of
    /// the rule are reached: at least `attempts` attempts (transient ones included) and at least
    /// `failing_for` since that start. Returns the attempts so far and whether this failure
    /// paused the unit (only the failure that paused it says so).
    async fn record_failure(
        &self,
        unit: &UnitId,
        failure: &FailureReport,
    ) -> Result<FailureRecord, WorkerError>;

    /// Clears the failure count, error, position and start of the failure run (a unit with
    /// nothing to do after failures).
    async fn clear_failures(&self, unit: &UnitId) -> Result<(), WorkerError>;

    /// Wake-up signals for idle consumers.
    fn wakeups(&self) -> Wakeups;
}

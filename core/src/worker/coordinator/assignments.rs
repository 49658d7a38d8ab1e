use async_trait::async_trait;

use super::{Assignment, Lease, Plan, Topology};
use crate::WorkerError;

/// Consumers, their units and which node runs each.
///
/// # Contract
/// - [`apply_plan`](Assignments::apply_plan) writes nothing unless the lease it is given is
///   still held and unexpired, checked in the same transaction.
/// - Every assignment change bumps the unit's epoch.
/// - A repartitioning starts at a drain position no lower than any old unit's checkpoint at the
///   moment the drain limit is set (see [`StartTransition`](super::StartTransition)), so no
///   event is handled by both an old and a new partition.
#[async_trait]
pub trait Assignments: Send + Sync + 'static {
    /// Every consumer and unit.
    async fn topology(&self) -> Result<Topology, WorkerError>;

    /// Writes `plan` in one transaction if `lease` is still valid; `false` means it was not and
    /// nothing was written.
    async fn apply_plan(&self, lease: &Lease, plan: &Plan) -> Result<bool, WorkerError>;

    /// The units assigned to `node_id`.
    async fn assignments_of(&self, node_id: &str) -> Result<Vec<Assignment>, WorkerError>;

    /// Unassigns every unit of `node_id` (bumping their epochs), so the leader can hand them
    /// out at once.
    async fn release_units(&self, node_id: &str) -> Result<(), WorkerError>;
}

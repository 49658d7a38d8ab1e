//! The coordinator port: membership, leadership, assignments and checkpoints, all kept in the
//! database the events live in.
//!
//! Processes running a [`Worker`](crate::Worker) never talk to each other. They register and
//! heartbeat as nodes; one of them holds a leader lease (a row with an epoch, renewed by time
//! on the database clock, so it works behind a transaction-pooling proxy) and writes the
//! assignment of units of work to nodes; every node runs the units assigned to it. Each
//! assignment carries an epoch that the batch transaction checks before it commits, so a node
//! that lost a unit can never commit a batch for it.
//!
//! The port is cut in roles, one trait and one file each, with the same file names in every
//! adapter: [`Membership`] (nodes and heartbeats), [`Leadership`] (the lease), [`Assignments`]
//! (consumers, units and plans), [`Batches`] (checkpoints and failures inside batch
//! transactions) and [`Operations`] (status and admin changes). [`Coordinator`] is all five.

mod assignments;
mod batches;
mod leadership;
mod membership;
mod operations;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Database, PauseRule};

pub use assignments::Assignments;
pub use batches::Batches;
pub use leadership::Leadership;
pub use membership::Membership;
pub use operations::Operations;

/// One unit of work: partition `partition` of `partitions` of a consumer. An unpartitioned
/// consumer has one unit, `0 of 1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitId {
    /// The consumer's name.
    pub consumer: String,
    /// How many partitions the consumer had when the unit was created.
    pub partitions: u32,
    /// This unit's partition, `0..partitions`.
    pub partition: u32,
}

impl UnitId {
    /// Partition `partition` of `partitions` of `consumer`.
    pub fn new(consumer: impl Into<String>, partitions: u32, partition: u32) -> Self {
        Self { consumer: consumer.into(), partitions, partition }
    }
}

impl std::fmt::Display for UnitId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}[{}/{}]", self.consumer, self.partition, self.partitions)
    }
}

/// A consumer as a node advertises it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConsumerSpec {
    /// The consumer's name.
    pub name: String,
    /// The partition count this node is configured with.
    pub partitions: u32,
}

/// What a node tells the others about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// Unique id of the node (process).
    pub node_id: String,
    /// The consumers it runs.
    pub consumers: Vec<ConsumerSpec>,
    /// The application version it runs.
    pub version: String,
}

/// A node whose last heartbeat is recent enough.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveNode {
    /// What the node advertised.
    pub info: NodeInfo,
    /// When it first registered (database clock): the newest node's partition counts win.
    pub started_at: DateTime<Utc>,
}

/// A registered node as an operator sees it: what it advertised, how long ago it last beat,
/// and whether it holds the leader lease. A node stays registered until it leaves (a clean
/// shutdown), so one that died shows here with an ever older heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeStatus {
    /// What the node advertised, and when it registered.
    pub node: LiveNode,
    /// Time since its last heartbeat (database clock).
    pub heartbeat_age: Duration,
    /// Whether it holds an unexpired leader lease.
    pub leader: bool,
}

impl NodeStatus {
    /// A node's status from what the shared `operations.nodes` statement reads: the time since
    /// its heartbeat in microseconds (a negative age, from clock steps, reads as zero) and the
    /// node holding an unexpired leader lease, if any.
    pub fn new(node: LiveNode, heartbeat_age_micros: i64, leader: Option<&str>) -> Self {
        Self {
            leader: leader == Some(node.info.node_id.as_str()),
            heartbeat_age: Duration::from_micros(u64::try_from(heartbeat_age_micros).unwrap_or(0)),
            node,
        }
    }
}

/// The leader lease held by a node; `epoch` grows with every change of holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The holder.
    pub node_id: String,
    /// The lease's epoch.
    pub epoch: u64,
}

/// A unit assigned to a node, with the epoch its batches must present.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Assignment {
    /// The unit.
    pub unit: UnitId,
    /// The assignment's epoch.
    pub epoch: u64,
}

/// A consumer as recorded in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    /// The name.
    pub name: String,
    /// The partition count new work uses.
    pub partitions: u32,
    /// Set while the consumer is being repartitioned.
    pub transition: Option<Transition>,
}

/// A repartitioning in progress: the units with `from_partitions` process up to
/// `drain_position` and stop; units with the new count start there once all have drained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The old partition count.
    pub from_partitions: u32,
    /// The position every old unit drains to and every new unit starts after.
    pub drain_position: u64,
}

/// A unit as recorded in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitRecord {
    /// The unit.
    pub unit: UnitId,
    /// The node it is assigned to, if any.
    pub owner: Option<String>,
    /// The assignment's epoch.
    pub epoch: u64,
    /// Every matching event up to this position has been handled.
    pub checkpoint: u64,
}

/// Everything the leader plans from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Topology {
    /// Every consumer.
    pub consumers: Vec<ConsumerRecord>,
    /// Every unit.
    pub units: Vec<UnitRecord>,
}

/// A repartitioning to start. `drain_position` is a lower bound: old units may have moved on
/// since the leader read them, so the coordinator raises it to their highest checkpoint, read
/// under lock in the transaction that sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartTransition {
    /// The consumer.
    pub consumer: String,
    /// The current partition count.
    pub from_partitions: u32,
    /// The new partition count.
    pub to_partitions: u32,
    /// Where the old units stop and the new ones start.
    pub drain_position: u64,
}

/// A repartitioning whose old units have all drained: they are removed and the new units are
/// created with their checkpoints at the drain position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishTransition {
    /// The consumer.
    pub consumer: String,
    /// The old partition count.
    pub from_partitions: u32,
    /// The new partition count.
    pub to_partitions: u32,
    /// The checkpoint of the new units.
    pub drain_position: u64,
}

/// What the leader writes in one transaction, guarded by its lease.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Consumers seen for the first time: their units are created with checkpoint 0.
    pub create: Vec<ConsumerSpec>,
    /// Repartitionings to start.
    pub start_transitions: Vec<StartTransition>,
    /// Repartitionings to finish.
    pub finish_transitions: Vec<FinishTransition>,
    /// Units whose owner changes (`None`: unassigned); each change bumps the unit's epoch.
    pub assign: Vec<(UnitId, Option<String>)>,
}

impl Plan {
    /// Whether the plan writes nothing.
    pub fn is_empty(&self) -> bool {
        self.create.is_empty()
            && self.start_transitions.is_empty()
            && self.finish_transitions.is_empty()
            && self.assign.is_empty()
    }
}

/// What a batch may do, decided at its start inside its transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Go: process events after `checkpoint`, not beyond `upto` when set, skipping the event at
    /// `skip` (an operator chose to skip it).
    Ready {
        /// The unit's checkpoint.
        checkpoint: u64,
        /// The drain limit of a unit being repartitioned away.
        upto: Option<u64>,
        /// A failing event an operator chose to skip.
        skip: Option<u64>,
    },
    /// The unit is paused.
    Paused,
    /// This node no longer owns the unit (or the epoch moved on).
    Fenced,
}

/// A failed batch, as the worker reports it to [`Batches::record_failure`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureReport {
    /// The error and its sources, on one line.
    pub error: String,
    /// The event the unit is stuck on, when known.
    pub position: Option<u64>,
    /// When this failure pauses the unit; `None` for a transient failure, which never does.
    pub pause: Option<PauseRule>,
}

/// A failure as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureRecord {
    /// Consecutive failures so far.
    pub attempts: u32,
    /// Whether this failure paused the unit.
    pub paused: bool,
}

/// The state of one unit, for operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitStatus {
    /// The unit.
    pub unit: UnitId,
    /// The node running it.
    pub owner: Option<String>,
    /// The assignment's epoch.
    pub epoch: u64,
    /// Every matching event up to this position has been handled.
    pub checkpoint: u64,
    /// The drain limit while repartitioning.
    pub upto: Option<u64>,
    /// Whether the unit is paused.
    pub paused: bool,
    /// Consecutive failures.
    pub attempts: u32,
    /// When the current run of failures that may pause the unit began (database clock); `None`
    /// while healthy or while only transient failures happen.
    pub failing_since: Option<DateTime<Utc>>,
    /// The last failure, as text: the handler's error, or why the batch could not run.
    pub last_error: Option<String>,
    /// The position of the event that failed last.
    pub failed_position: Option<u64>,
    /// A failing event an operator chose to skip, not yet passed.
    pub skip_position: Option<u64>,
}

/// Wake-up signals: the value changes whenever new events may have been committed (a NOTIFY on
/// PostgreSQL, an in-process commit on SQLite and memory).
pub type Wakeups = tokio::sync::watch::Receiver<u64>;

/// Coordination state in the database, shared by every node: all five roles. Implemented for
/// every type that implements them.
///
/// # Contract
/// Every adapter passes the worker scenarios of `pupsourcing-conformance`. Liveness and lease
/// expiry are judged by the database's clock, never the node's; each role's trait states the
/// rest.
pub trait Coordinator<D: Database>:
    Membership + Leadership + Assignments + Batches<D> + Operations<D>
{
}

impl<D, C> Coordinator<D> for C
where
    D: Database,
    C: Membership + Leadership + Assignments + Batches<D> + Operations<D>,
{
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_status_reads_the_age_and_the_lease_holder() {
        let node = |id: &str| LiveNode {
            info: NodeInfo { node_id: id.to_owned(), consumers: Vec::new(), version: "1".into() },
            started_at: Utc::now(),
        };
        let leader = NodeStatus::new(node("a"), 1_500_000, Some("a"));
        assert!(leader.leader);
        assert_eq!(leader.heartbeat_age, Duration::from_millis(1_500));
        let follower = NodeStatus::new(node("b"), 2, Some("a"));
        assert!(!follower.leader);
        assert_eq!(follower.heartbeat_age, Duration::from_micros(2));
        let skewed = NodeStatus::new(node("c"), -40, None);
        assert!(!skewed.leader);
        assert_eq!(skewed.heartbeat_age, Duration::ZERO);
    }
}

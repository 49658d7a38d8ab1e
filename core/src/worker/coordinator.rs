//! The coordinator port: membership, leadership, assignments and checkpoints, all kept in the
//! database the events live in.
//!
//! Processes running a [`Worker`](crate::Worker) never talk to each other. They register and
//! heartbeat as nodes; one of them holds a leader lease (a row with an epoch, renewed by time
//! on the database clock, so it works behind a transaction-pooling proxy) and writes the
//! assignment of units of work to nodes; every node runs the units assigned to it. Each
//! assignment carries an epoch that the batch transaction checks before it commits, so a node
//! that lost a unit can never commit a batch for it.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Database, PauseRule, WorkerError};

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

/// A failed batch, as the worker reports it to [`Coordinator::record_failure`].
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

/// Coordination state in the database, shared by every node.
///
/// # Contract
/// Every adapter passes the worker scenarios of `pupsourcing-conformance`. In particular:
/// - Liveness and lease expiry are judged by the database's clock, never the node's.
/// - [`acquire_lease`](Coordinator::acquire_lease) gives the lease to at most one node at a
///   time; a new holder gets a higher epoch. [`apply_plan`](Coordinator::apply_plan) writes
///   nothing unless the lease it is given is still held and unexpired, checked in the same
///   transaction.
/// - Every assignment change bumps the unit's epoch.
/// - A repartitioning starts at a drain position no lower than any old unit's checkpoint at the
///   moment the drain limit is set (see [`StartTransition`]), so no event is handled by both
///   an old and a new partition.
/// - [`begin_batch`](Coordinator::begin_batch) locks the unit's checkpoint for the rest of the
///   caller's transaction (batches of one unit never overlap).
///   [`commit_batch`](Coordinator::commit_batch) moves the checkpoint only if the caller still
///   owns the unit with the same epoch, checked so that an assignment change cannot commit in
///   between (the caller must then roll back).
/// - Failures and admin changes take effect for the next batch.
#[async_trait]
pub trait Coordinator<D: Database>: Send + Sync + 'static {
    /// Registers `node` or refreshes its heartbeat and advertised consumers.
    async fn heartbeat(&self, node: &NodeInfo) -> Result<(), WorkerError>;

    /// Removes a node (clean shutdown).
    async fn leave(&self, node_id: &str) -> Result<(), WorkerError>;

    /// Nodes whose last heartbeat is younger than `timeout`.
    async fn live_nodes(&self, timeout: Duration) -> Result<Vec<LiveNode>, WorkerError>;

    /// Takes the leader lease if it is free or expired, or renews it if `node_id` holds it.
    /// Returns the lease when `node_id` holds it afterwards.
    async fn acquire_lease(
        &self,
        node_id: &str,
        duration: Duration,
    ) -> Result<Option<Lease>, WorkerError>;

    /// Gives the lease up at once, if still held.
    async fn release_lease(&self, lease: &Lease) -> Result<(), WorkerError>;

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

    /// The state of every unit.
    async fn status(&self) -> Result<Vec<UnitStatus>, WorkerError>;

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

    /// Wake-up signals for idle consumers.
    fn wakeups(&self) -> Wakeups;
}

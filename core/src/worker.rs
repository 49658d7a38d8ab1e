//! The worker: consumers and projections run asynchronously, on one process or many,
//! coordinated only through the database, with exactly-once database effects.
//!
//! Each consumer is split into units (one, or one per partition). Nodes (processes running a
//! [`Worker`]) register and heartbeat; one holds the leader lease and assigns units to nodes
//! (sticky, fair share, only to nodes that run the consumer); each node runs its units batch by
//! batch. A batch reads only up to the safe frontier, so no event is ever skipped, and commits
//! the handler's writes together with the checkpoint, after checking that the node still owns
//! the unit. See [`Coordinator`] for the database side and [`Consumer`] for the contract
//! handlers get.

mod admin;
mod config;
mod consumer;
pub(crate) mod context;
mod coordinator;
mod error;
mod failure;
mod follow;
mod leader;
mod membership;
pub mod metrics;
mod plan;
mod runtime;
mod unit;

pub use admin::{Admin, ConsumerStatus};
pub use config::{PauseRule, RetryPolicy, WorkerConfig};
pub use consumer::{BatchError, Consumer, HandlerError};
pub use coordinator::{
    Assignment, Assignments, Batches, Claim, ConsumerRecord, ConsumerSpec, Coordinator,
    FailureRecord, FailureReport, FinishTransition, Leadership, Lease, LiveNode, Membership,
    NodeInfo, NodeStatus, Operations, Plan, StartTransition, Topology, Transition, UnitId,
    UnitRecord, UnitStatus, Wakeups,
};
pub use error::WorkerError;
pub use plan::plan;
pub use runtime::{MAX_CONSUMER_NAME, Worker, WorkerBuilder};

//! The contract between pupsourcing and its backends: what an adapter implements and the shared
//! pieces it implements it with. Applications do not need this module; they use the crate root.
//!
//! An adapter crate provides a [`Database`](crate::Database) and an
//! [`EventStore`](crate::EventStore), and for the worker and encryption a [`Coordinator`] (its
//! five role traits, one file each) and a [`KeyStore`]. It validates appends with
//! [`prepare_append`] (the same rules on every backend)
//! and proves its conformance by running the `pupsourcing-conformance` suite.

pub use crate::keys::{KeyId, KeyLookup, KeyStore, MAX_KEY_VERSION, NewKey, StoredKey};
pub use crate::store::{append_in_own_transaction, check_position, prepare_append};

/// The pure core of a fenced frontier advance, shared by the SQL backends.
pub mod frontier {
    pub use crate::store::walk::{
        Horizon, KnownHole, NewHole, Resolution, Walk, WarningThrottle, walk,
    };
}
pub use crate::worker::{
    Assignment, Assignments, Batches, Claim, ConsumerRecord, ConsumerSpec, Coordinator,
    FailureRecord, FailureReport, FinishTransition, Leadership, Lease, LiveNode, Membership,
    NodeInfo, NodeStatus, Operations, Plan, StartTransition, Topology, Transition, UnitRecord,
    Wakeups,
};

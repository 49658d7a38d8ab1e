//! # pupsourcing-conformance
//!
//! The contract every pupsourcing adapter must honour, written once as plain async functions.
//!
//! Each scenario takes a backend factory ([`StoreBackend`]) and panics on the first broken
//! promise. An adapter's test target implements the factory and expands [`store_suite!`], which
//! generates one named `#[tokio::test]` per scenario, so a failure names both the scenario and the
//! backend. Scenarios create fresh stream ids and fresh stores, and order concurrent steps with
//! barriers, never with sleeps.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

mod backend;
pub mod keys;
mod macros;
pub mod snapshots;
pub mod store;
mod support;
pub mod worker;

pub use backend::{
    Capabilities, KeysBackend, Projection, Recorded, SnapshotsBackend, StoreBackend, WorkerBackend,
    WorkerEnv,
};

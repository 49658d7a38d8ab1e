//! # pupsourcing-memory
//!
//! An in-process backend for pupsourcing with the same ports and the same semantics as the SQL
//! adapters (atomic transactions, optimistic concurrency, duplicate detection, identical
//! validation), so application code can be unit-tested without a database. It passes the same
//! conformance suite as the PostgreSQL and SQLite adapters.
//!
//! Data lives as long as the [`MemoryDatabase`] (and its clones). Besides the event store, the
//! worker's [`MemoryCoordinator`], the encryption [`MemoryKeyStore`] and the aggregate
//! snapshots' [`MemorySnapshotStore`], a memory database holds application tables of JSON rows
//! ([`MemoryTx::insert`], [`MemoryDatabase::rows`]) that share its transactions, so projections
//! can be unit-tested with their real commit and rollback behaviour.

mod backend;
mod coordinator;
mod database;
mod keys;
mod snapshots;
mod state;
mod store;
mod tables;

pub use backend::{MemoryBackend, from_store, open};
pub use coordinator::MemoryCoordinator;
pub use database::{MemoryDatabase, MemoryTx};
pub use keys::MemoryKeyStore;
pub use snapshots::MemorySnapshotStore;
pub use store::MemoryStore;
pub use tables::DuplicateKey;

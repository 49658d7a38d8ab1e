//! # pupsourcing-memory
//!
//! An in-process backend for pupsourcing with the same ports and the same semantics as the SQL
//! adapters (atomic transactions, optimistic concurrency, duplicate detection, identical
//! validation), so application code can be unit-tested without a database. It passes the same
//! conformance suite as the PostgreSQL and SQLite adapters.
//!
//! Data lives as long as the [`MemoryDatabase`] (and its clones).

mod database;
mod state;
mod store;

pub use database::{MemoryDatabase, MemoryTx};
pub use store::MemoryStore;

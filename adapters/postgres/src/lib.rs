//! # pupsourcing-postgres
//!
//! The PostgreSQL backend of pupsourcing, on sqlx. The transaction type is sqlx's own
//! ([`PgTx`]), so your read models, outbox rows and events commit in one transaction with the
//! queries you already write.
//!
//! - [`PgDatabase`]: a pool plus the isolation level for transactions the library opens.
//! - [`PostgresStore`]: the event store; [`PostgresStore::migrate`] creates its schema (the
//!   worker's tables included).
//! - [`PostgresCoordinator`]: the worker's coordination through the same database, woken by the
//!   store's NOTIFY channel.
//! - [`PostgresKeyStore`]: the encryption component's data keys and tombstones.
//! - [`PostgresSnapshotStore`]: aggregate snapshots, for
//!   [`Repository::with_snapshots`](pupsourcing::aggregate::Repository::with_snapshots).
//!
//! Errors are classified here, from SQLSTATEs: serialization failures (`40001`) and deadlocks
//! (`40P01`) under any isolation level become retryable
//! [`BackendError`](pupsourcing::BackendError)s, never generic ones.

mod backend;
mod config;
mod convert;
mod coordinator;
mod database;
mod error;
pub mod frontier;
mod keys;
mod migrate;
mod shared;
mod snapshots;
mod store;

pub use backend::{PostgresBackend, connect, from_pool, from_store};
pub use config::PostgresStoreConfig;
pub use coordinator::PostgresCoordinator;
pub use database::{IsolationLevel, PgDatabase, PgTx};
pub use keys::PostgresKeyStore;
pub use pupsourcing::FrontierConfig;
pub use pupsourcing_migrations::{NameError, Tables};
pub use snapshots::PostgresSnapshotStore;
pub use sqlx;
pub use store::PostgresStore;

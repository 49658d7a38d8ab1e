//! # pupsourcing-sqlite
//!
//! The embedded backend of pupsourcing, on rusqlite with SQLite bundled (no system library
//! needed). Same ports and semantics as the PostgreSQL adapter; choose it for examples, tests,
//! desktop apps and small single-node deployments.
//!
//! - [`SqliteDatabase`]: a database file (WAL mode) and a pool of connections; every statement
//!   runs on tokio's blocking pool, so the async runtime never stalls on SQLite.
//! - [`SqliteTx`]: the transaction; run your own statements in it with [`SqliteTx::call`].
//! - [`SqliteStore`]: the event store; [`SqliteStore::migrate`] creates its tables (the worker's
//!   included).
//! - [`SqliteCoordinator`]: the worker's coordination through the same file.
//! - [`SqliteKeyStore`]: the encryption component's data keys and tombstones.
//! - [`SqliteSnapshotStore`]: aggregate snapshots, for
//!   [`Repository::with_snapshots`](pupsourcing::aggregate::Repository::with_snapshots).
//!
//! Several connections and several processes may share one file: writers serialize on SQLite's
//! write lock (in arrival order within a process), and a writer that waits longer than the busy
//! timeout fails with a retryable [`BackendErrorKind::Busy`](pupsourcing::BackendErrorKind::Busy).

mod backend;
mod blocking;
mod config;
mod convert;
mod coordinator;
mod database;
mod error;
mod keys;
mod migrate;
mod pool;
mod shared;
mod snapshots;
mod store;

pub use backend::{SqliteBackend, from_store, open, open_with};
pub use config::{Location, SqliteOptions, SqliteStoreConfig, Synchronous};
pub use coordinator::SqliteCoordinator;
pub use database::{SqliteDatabase, SqliteTx};
pub use keys::SqliteKeyStore;
pub use pupsourcing_migrations::{NameError, Tables};
pub use rusqlite;
pub use snapshots::SqliteSnapshotStore;
pub use store::SqliteStore;

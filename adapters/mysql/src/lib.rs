//! # pupsourcing-mysql
//!
//! The MySQL/MariaDB backend of pupsourcing, on sqlx, with the same ports and semantics as the
//! PostgreSQL adapter. MariaDB 10.6 or later is tested; MySQL 8.0 is best effort and untested:
//! appends read their positions with `INSERT … RETURNING` on MariaDB and from
//! `LAST_INSERT_ID()` on MySQL ([`PositionReadback`], detected from the server's version; the
//! `LAST_INSERT_ID()` path is tested on MariaDB).
//!
//! - [`MysqlDatabase`]: a pool whose connections run READ COMMITTED in UTC.
//! - [`MysqlStore`]: the event store; [`MysqlStore::migrate`] creates its tables (the worker's
//!   and the key store's included). Names are stored as `VARBINARY`, so stream ids, types and
//!   consumers compare byte for byte (`abc` and `ABC` are two streams) whatever the server's
//!   collation.
//! - The gap-safe frontier of [`frontier`]: proven from InnoDB's list of active transactions,
//!   without serializing writers and without timeouts. It needs the `PROCESS` privilege.
//! - [`MysqlCoordinator`]: the worker's coordination through the same database. MySQL has no
//!   NOTIFY: idle consumers are woken by commits made through this process's
//!   [`MysqlDatabase`], and otherwise poll with the worker's back-off.
//! - [`MysqlKeyStore`] and [`MysqlSnapshotStore`]: data keys and tombstones, and aggregate
//!   snapshots.
//!
//! Errors are classified here by MySQL error number: deadlocks (1213) and lock-wait timeouts
//! (1205) are retryable, duplicate keys (1062) become typed duplicates or conflicts, and a
//! packet over the server's `max_allowed_packet` (1153) says so.

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

pub use backend::{MysqlBackend, connect, from_pool, from_store};
pub use config::{GapStrategy, MysqlStoreConfig, PositionReadback};
pub use coordinator::MysqlCoordinator;
pub use database::{MysqlDatabase, MysqlTx};
pub use keys::MysqlKeyStore;
pub use pupsourcing::FrontierConfig;
pub use pupsourcing_migrations::{NameError, Tables};
pub use snapshots::MysqlSnapshotStore;
pub use sqlx;
pub use store::MysqlStore;

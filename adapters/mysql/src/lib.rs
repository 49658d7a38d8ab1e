//! # pupsourcing-mysql (work in progress)
//!
//! The MySQL/MariaDB backend of pupsourcing, on sqlx: [`MysqlDatabase`] (a pool whose
//! connections run READ COMMITTED in UTC) and [`MysqlStore`] (appends and reads). Not yet
//! written: the gap-safe frontier (InnoDB transaction-id fence), the coordinator, the key and
//! snapshot stores.

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

pub use config::MysqlStoreConfig;
pub use coordinator::MysqlCoordinator;
pub use database::{MysqlDatabase, MysqlTx};
pub use keys::MysqlKeyStore;
pub use pupsourcing::FrontierConfig;
pub use pupsourcing_migrations::{NameError, Tables};
pub use snapshots::MysqlSnapshotStore;
pub use sqlx;
pub use store::MysqlStore;

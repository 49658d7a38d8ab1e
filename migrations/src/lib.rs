//! # pupsourcing-migrations
//!
//! The database schema of pupsourcing, defined once with sea-query and rendered for each backend,
//! and the SQL statements every backend shares ([`Statement`], rendered per [`Dialect`]).
//!
//! Adapters apply it programmatically (`PostgresStore::migrate`, ...); operators who manage DDL
//! themselves write it to a file with the `pupsourcing migrate` command of `pupsourcing-cli`:
//!
//! ```text
//! pupsourcing migrate --backend postgres --output migrations/ --schema es --prefix app_
//! ```
//!
//! ```
//! use pupsourcing_migrations::{Backend, Tables, script};
//!
//! let sql = script(Backend::Sqlite, &Tables::new())?;
//! assert!(sql.contains("CREATE TABLE IF NOT EXISTS \"events\""));
//! # Ok::<(), pupsourcing_migrations::NameError>(())
//! ```

mod backend;
mod frontier;
mod ident;
mod keys;
mod postgres;
mod queries;
mod script;
mod snapshots;
mod store;
mod tables;
mod worker;

pub use backend::{Backend, UnknownBackend};
pub use frontier::{FrontierColumn, HoleColumn};
pub use ident::{Ident, MAX_IDENT_LEN, NameError};
pub use keys::KeyColumn;
pub use queries::{
    AssignmentStatements, BatchStatements, Dialect, EVENT_COLUMNS, EventStatements, EventsUntil,
    LeadershipStatements, MembershipStatements, OperationStatements, SnapshotStatements, Statement,
    event_column_list, events_until,
};
pub use script::{script, statements};
pub use snapshots::SnapshotColumn;
pub use store::{EVENT_ID_KEY_SUFFIX, EventColumn, STREAM_VERSION_KEY_SUFFIX, StreamHeadColumn};
pub use tables::Tables;
pub use worker::WorkerColumn;

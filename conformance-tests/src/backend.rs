//! What an adapter hands the suite: a way to make fresh, empty stores.

use async_trait::async_trait;
use pupsourcing::{Database, EventStore};

/// A factory of empty stores on one backend.
///
/// Scenarios call [`fresh_store`](StoreBackend::fresh_store) once or several times; each call must
/// return a store that shares no data with any other (its own database, or its own tables).
#[async_trait]
pub trait StoreBackend: Send + Sync + 'static {
    /// The backend's database.
    type Db: Database;
    /// The backend's store.
    type Store: EventStore<Self::Db> + Clone;

    /// A database handle and an empty store in it, with default limits. The database must allow
    /// at least 64 concurrent transactions.
    async fn fresh_store(&self) -> (Self::Db, Self::Store);

    /// What the backend can do, so scenarios can state their expectations precisely.
    fn capabilities(&self) -> Capabilities;
}

/// Facts about a backend that change what a scenario may expect (never whether it runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Only one transaction writes at a time (SQLite, memory): a second writer waits for the
    /// first to finish, positions are assigned in commit order and the log never has holes.
    pub single_writer: bool,
}

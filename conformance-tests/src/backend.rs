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
}

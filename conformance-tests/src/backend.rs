//! What an adapter hands the suite: a way to make fresh, empty stores.

use async_trait::async_trait;
use pupsourcing::snapshot::SnapshotStore;
use pupsourcing::spi::{Coordinator, KeyStore};
use pupsourcing::{BoxError, Database, EventStore, PersistedEvent};
use uuid::Uuid;

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

    /// Changes the committed event at `position` of `store` so that it can no longer be decoded,
    /// as a row written by another tool or a later format would be. SQL backends replace its
    /// metadata with JSON nested deeper than any reader accepts, the defect that let such rows in
    /// before the store refused them; the memory backend uses `MemoryStore::make_unreadable`.
    async fn make_unreadable(&self, db: &Self::Db, store: &Self::Store, position: u64);
}

/// Facts about a backend that change what a scenario may expect (never whether it runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Only one transaction writes at a time (SQLite, memory): a second writer waits for the
    /// first to finish, positions are assigned in commit order and the log never has holes.
    pub single_writer: bool,
}

/// A read-model table for the worker scenarios, written by test consumers in the batch
/// transaction with the backend's own SQL (or rows, in memory).
#[async_trait]
pub trait Projection<D: Database>: Clone + Send + Sync + 'static {
    /// Records in `tx` that `consumer` handled `event`, with `seq` (the handler's call counter).
    /// Must fail if `consumer` already recorded `event` (a primary key on (consumer, event id)).
    async fn record(
        &self,
        tx: &mut D::Tx,
        consumer: &str,
        event: &PersistedEvent,
        seq: u64,
    ) -> Result<(), BoxError>;

    /// Removes, in `tx`, everything `consumer` recorded.
    async fn clear(&self, tx: &mut D::Tx, consumer: &str) -> Result<(), BoxError>;

    /// The committed records of `consumer`, in any order.
    async fn recorded(&self, db: &D, consumer: &str) -> Vec<Recorded>;
}

/// One row of a [`Projection`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Recorded {
    /// The event handled.
    pub event_id: Uuid,
    /// Its global position.
    pub position: u64,
    /// Its stream, as text.
    pub stream: String,
    /// Its stream version.
    pub version: u64,
    /// The handler's call counter when it was recorded (orders the records of one stream).
    pub seq: u64,
}

/// Everything a worker scenario runs on: one database with a store, a coordinator and a
/// projection table, all fresh.
#[derive(Debug, Clone)]
pub struct WorkerEnv<D, S, C, P> {
    /// The database.
    pub db: D,
    /// The event store.
    pub store: S,
    /// The coordinator.
    pub coordinator: C,
    /// The test read model.
    pub projection: P,
}

/// A backend that can run the worker scenarios.
#[async_trait]
pub trait WorkerBackend: StoreBackend {
    /// The backend's coordinator.
    type Coordinator: Coordinator<Self::Db> + Clone;
    /// The backend's test read model.
    type Projection: Projection<Self::Db>;

    /// A fresh environment (own tables, or own database), migrated.
    async fn fresh_worker(
        &self,
    ) -> WorkerEnv<Self::Db, Self::Store, Self::Coordinator, Self::Projection>;
}

/// A backend that can run the key-store and encryption scenarios.
pub trait KeysBackend: StoreBackend {
    /// The backend's key store.
    type Keys: KeyStore<Self::Db> + Clone;

    /// The key store beside `store` (same database, same table naming).
    fn key_store(&self, store: &Self::Store) -> Self::Keys;
}

/// A backend that can run the snapshot scenarios (which use its key store for shredding and
/// its worker for deferred snapshots).
pub trait SnapshotsBackend: WorkerBackend + KeysBackend {
    /// The backend's snapshot store.
    type Snapshots: SnapshotStore<Self::Db> + Clone;

    /// The snapshot store beside `store` (same database, same table naming).
    fn snapshot_store(&self, store: &Self::Store) -> Self::Snapshots;
}

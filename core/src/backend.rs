//! One handle for everything an application takes from one database.

/// A database with everything pupsourcing keeps in it: the [`Database`](crate::Database)
/// handle, its [`EventStore`](crate::EventStore), the coordinator the [`Worker`](crate::Worker)
/// runs on and the key store the encryptor keeps data keys in, all over the same tables.
///
/// Each backend crate opens one in a single call (`pupsourcing_sqlite::open`,
/// `pupsourcing_postgres::connect`, `pupsourcing_memory::open`), and the worker, the
/// [`Admin`](crate::Admin) API and the encryptor take it whole. Cheap to clone: every part is a
/// handle to shared state.
///
/// ```
/// use pupsourcing::{Database, Event, EventStore, ExpectedVersion, StreamId};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let backend = pupsourcing_memory::open();
/// let mut tx = backend.database().begin().await?;
/// let event = Event::new(&StreamId::new("user", "1"), "Registered", b"{}".to_vec());
/// backend.store().append(&mut tx, ExpectedVersion::NoStream, vec![event]).await?;
/// backend.database().commit(tx).await?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Backend<D, S, C, K> {
    database: D,
    store: S,
    coordinator: C,
    keys: K,
}

impl<D, S, C, K> Backend<D, S, C, K> {
    /// Puts together parts that share one database; backend crates do this for you. A part an
    /// application does not use may be `()` (an encryptor needs no coordinator, a worker no key
    /// store).
    pub fn from_parts(database: D, store: S, coordinator: C, keys: K) -> Self {
        Self { database, store, coordinator, keys }
    }

    /// The database: open transactions with it.
    pub fn database(&self) -> &D {
        &self.database
    }

    /// The event store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The worker's coordinator.
    pub fn coordinator(&self) -> &C {
        &self.coordinator
    }

    /// The key store of the encryptor.
    pub fn keys(&self) -> &K {
        &self.keys
    }
}

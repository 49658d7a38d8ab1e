//! Everything in one call: a fresh memory database with its store, coordinator and key store.

use pupsourcing::Backend;

use crate::{MemoryCoordinator, MemoryDatabase, MemoryKeyStore, MemoryStore};

/// A memory database with its store, coordinator and key store.
pub type MemoryBackend = Backend<MemoryDatabase, MemoryStore, MemoryCoordinator, MemoryKeyStore>;

/// A fresh, empty memory database with everything pupsourcing keeps in it.
///
/// ```
/// let backend = pupsourcing_memory::open();
/// let admin = pupsourcing::Admin::new(&backend);
/// # let _ = admin;
/// ```
pub fn open() -> MemoryBackend {
    from_store(MemoryStore::new(&MemoryDatabase::new()))
}

/// Everything beside an existing `store` (for a store with other limits).
pub fn from_store(store: MemoryStore) -> MemoryBackend {
    let (coordinator, keys) = (MemoryCoordinator::new(&store), MemoryKeyStore::new(&store));
    Backend::from_parts(store.database().clone(), store, coordinator, keys)
}

//! The conformance suite on the memory backend.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)] // test code: failing loudly is the point

use async_trait::async_trait;
use pupsourcing_conformance::{Capabilities, StoreBackend};
use pupsourcing_memory::{MemoryDatabase, MemoryStore};

struct Memory;

#[async_trait]
impl StoreBackend for Memory {
    type Db = MemoryDatabase;
    type Store = MemoryStore;

    async fn fresh_store(&self) -> (MemoryDatabase, MemoryStore) {
        let db = MemoryDatabase::new();
        let store = MemoryStore::new(&db);
        (db, store)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { single_writer: true }
    }
}

async fn backend(_test_name: &'static str) -> Memory {
    Memory
}

pupsourcing_conformance::store_suite!(backend);

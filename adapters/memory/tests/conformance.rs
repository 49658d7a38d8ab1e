//! The conformance suite on the memory backend.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)] // test code: failing loudly is the point

use async_trait::async_trait;
use pupsourcing::{BoxError, Database, PersistedEvent};
use pupsourcing_conformance::{
    Capabilities, KeysBackend, Projection, Recorded, SnapshotsBackend, StoreBackend, WorkerBackend,
    WorkerEnv,
};
use pupsourcing_memory::{
    MemoryCoordinator, MemoryDatabase, MemoryKeyStore, MemorySnapshotStore, MemoryStore, MemoryTx,
};
use serde_json::json;

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

    async fn make_unreadable(&self, db: &MemoryDatabase, store: &MemoryStore, position: u64) {
        let mut tx = db.begin().await.expect("begin");
        store.make_unreadable(&mut tx, position).await.expect("mark");
        db.commit(tx).await.expect("commit");
    }
}

/// The test read model: one application table per consumer, keyed by event id.
#[derive(Clone)]
struct Rows;

fn table(consumer: &str) -> String {
    format!("projection/{consumer}")
}

#[async_trait]
impl Projection<MemoryDatabase> for Rows {
    async fn record(
        &self,
        tx: &mut MemoryTx,
        consumer: &str,
        event: &PersistedEvent,
        seq: u64,
    ) -> Result<(), BoxError> {
        let row = json!({
            "position": event.global_position,
            "stream": event.stream().to_string(),
            "version": event.aggregate_version,
            "seq": seq,
        });
        Ok(tx.insert(&table(consumer), event.event.event_id.to_string(), row).await?)
    }

    async fn clear(&self, tx: &mut MemoryTx, consumer: &str) -> Result<(), BoxError> {
        Ok(tx.clear(&table(consumer)).await?)
    }

    async fn recorded(&self, db: &MemoryDatabase, consumer: &str) -> Vec<Recorded> {
        db.rows(&table(consumer))
            .into_iter()
            .map(|(id, row)| Recorded {
                event_id: id.parse().expect("uuid key"),
                position: row["position"].as_u64().expect("position"),
                stream: row["stream"].as_str().expect("stream").to_owned(),
                version: row["version"].as_u64().expect("version"),
                seq: row["seq"].as_u64().expect("seq"),
            })
            .collect()
    }
}

#[async_trait]
impl WorkerBackend for Memory {
    type Coordinator = MemoryCoordinator;
    type Projection = Rows;

    async fn fresh_worker(
        &self,
    ) -> WorkerEnv<MemoryDatabase, MemoryStore, MemoryCoordinator, Rows> {
        let store = MemoryStore::new(&MemoryDatabase::new());
        WorkerEnv {
            db: store.database().clone(),
            coordinator: MemoryCoordinator::new(&store),
            projection: Rows,
            store,
        }
    }
}

impl KeysBackend for Memory {
    type Keys = MemoryKeyStore;

    fn key_store(&self, store: &MemoryStore) -> MemoryKeyStore {
        MemoryKeyStore::new(store)
    }
}

impl SnapshotsBackend for Memory {
    type Snapshots = MemorySnapshotStore;

    fn snapshot_store(&self, store: &MemoryStore) -> MemorySnapshotStore {
        MemorySnapshotStore::new(store)
    }
}

async fn backend(_test_name: &'static str) -> Memory {
    Memory
}

pupsourcing_conformance::store_suite!(backend);
pupsourcing_conformance::worker_suite!(backend);
pupsourcing_conformance::keys_suite!(backend);
pupsourcing_conformance::snapshots_suite!(backend);

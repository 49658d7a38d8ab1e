//! The conformance suite on SQLite, twice: on a database file (several connections on one file,
//! fresh tables per store, calls on the blocking pool) and on a temporary database
//! (`":memory:"`, calls in place).

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)] // test code: failing loudly is the point

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use pupsourcing::Database;
use pupsourcing::{BoxError, PersistedEvent};
use pupsourcing_conformance::{
    Capabilities, KeysBackend, Projection, Recorded, SnapshotsBackend, StoreBackend, WorkerBackend,
    WorkerEnv,
};
use pupsourcing_migrations::Tables;
use pupsourcing_sqlite::{
    SqliteCoordinator, SqliteDatabase, SqliteKeyStore, SqliteOptions, SqliteSnapshotStore,
    SqliteStore, SqliteStoreConfig, SqliteTx,
};

/// A database file in a fresh directory, removed when the test passes.
struct SqliteFile {
    dir: PathBuf,
    db: SqliteDatabase,
    stores: AtomicU32,
}

impl SqliteFile {
    async fn new(test_name: &str) -> Self {
        let dir = std::env::temp_dir()
            .join(format!("pupsourcing-{test_name}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("test directory");
        let db = SqliteDatabase::open_with(
            SqliteOptions::new(dir.join("events.sqlite3")).max_connections(16),
        )
        .await
        .expect("open");
        Self { dir, db, stores: AtomicU32::new(0) }
    }
}

impl Drop for SqliteFile {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("test failed: keeping {} for inspection", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[async_trait]
impl StoreBackend for SqliteFile {
    type Db = SqliteDatabase;
    type Store = SqliteStore;

    async fn fresh_store(&self) -> (SqliteDatabase, SqliteStore) {
        let n = self.stores.fetch_add(1, Ordering::Relaxed);
        let tables = Tables::new().with_prefix(&format!("s{n}_")).expect("prefix");
        let config = SqliteStoreConfig::default().with_tables(tables).expect("no schema");
        let store = SqliteStore::with_config(&self.db, config);
        store.migrate().await.expect("migrate");
        (self.db.clone(), store)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { single_writer: true }
    }

    async fn make_unreadable(&self, db: &SqliteDatabase, store: &SqliteStore, position: u64) {
        corrupt(db, store, position).await;
    }
}

/// A temporary database per store, its calls run in place.
struct SqliteMemory;

#[async_trait]
impl StoreBackend for SqliteMemory {
    type Db = SqliteDatabase;
    type Store = SqliteStore;

    async fn fresh_store(&self) -> (SqliteDatabase, SqliteStore) {
        let options = SqliteOptions::temporary().calls_in_place(true);
        let db = SqliteDatabase::open_with(options).await.expect("open");
        let store = SqliteStore::new(&db);
        store.migrate().await.expect("migrate");
        (db, store)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { single_writer: true }
    }

    async fn make_unreadable(&self, db: &SqliteDatabase, store: &SqliteStore, position: u64) {
        corrupt(db, store, position).await;
    }
}

/// Replaces the metadata of the event at `position` with JSON nested deeper than any reader
/// accepts, as another tool could have written it.
async fn corrupt(db: &SqliteDatabase, store: &SqliteStore, position: u64) {
    let events = store.config().tables().events().quoted();
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let position = i64::try_from(position).expect("position");
    let mut tx = db.begin().await.expect("begin");
    let sql = format!("UPDATE {events} SET metadata = ?1 WHERE global_position = ?2");
    let changed = tx.execute(&sql, (deep, position)).await.expect("corrupt the row");
    assert_eq!(changed, 1, "no event at position {position}");
    db.commit(tx).await.expect("commit");
}

/// The test read model: a table with a primary key on (consumer, event id).
#[derive(Clone)]
struct Table(String);

#[async_trait]
impl Projection<SqliteDatabase> for Table {
    async fn record(
        &self,
        tx: &mut SqliteTx,
        consumer: &str,
        event: &PersistedEvent,
        seq: u64,
    ) -> Result<(), BoxError> {
        let sql = format!(
            "INSERT INTO {} (consumer, event_id, position, stream, version, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            self.0
        );
        let values = (
            consumer.to_owned(),
            event.event.event_id.to_string(),
            i64::try_from(event.global_position)?,
            event.stream().to_string(),
            i64::try_from(event.aggregate_version)?,
            i64::try_from(seq)?,
        );
        tx.execute(&sql, values).await?;
        Ok(())
    }

    async fn clear(&self, tx: &mut SqliteTx, consumer: &str) -> Result<(), BoxError> {
        let sql = format!("DELETE FROM {} WHERE consumer = ?1", self.0);
        tx.execute(&sql, [consumer.to_owned()]).await?;
        Ok(())
    }

    async fn recorded(&self, db: &SqliteDatabase, consumer: &str) -> Vec<Recorded> {
        let sql = format!(
            "SELECT event_id, position, stream, version, seq FROM {} WHERE consumer = ?1",
            self.0
        );
        let consumer = consumer.to_owned();
        let mut tx = db.begin_read().await.expect("begin_read");
        tx.call(move |conn| {
            let mut select = conn.prepare(&sql)?;
            let rows = select.query_map([consumer], |row| {
                Ok(Recorded {
                    event_id: row.get::<_, String>(0)?.parse().expect("uuid"),
                    position: row.get(1)?,
                    stream: row.get(2)?,
                    version: row.get(3)?,
                    seq: row.get(4)?,
                })
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
        .await
        .expect("read projection")
    }
}

async fn worker_env(
    db: SqliteDatabase,
    store: SqliteStore,
) -> WorkerEnv<SqliteDatabase, SqliteStore, SqliteCoordinator, Table> {
    let table = store.config().tables().events().with_suffix("_projection").quoted();
    let create = format!(
        "CREATE TABLE {table} (consumer TEXT NOT NULL, event_id TEXT NOT NULL, position INTEGER NOT NULL, \
         stream TEXT NOT NULL, version INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (consumer, event_id))"
    );
    let mut tx = db.begin().await.expect("begin");
    tx.call(move |conn| conn.execute(&create, [])).await.expect("projection table");
    db.commit(tx).await.expect("commit");
    WorkerEnv { coordinator: SqliteCoordinator::new(&store), projection: Table(table), db, store }
}

#[async_trait]
impl WorkerBackend for SqliteFile {
    type Coordinator = SqliteCoordinator;
    type Projection = Table;

    async fn fresh_worker(
        &self,
    ) -> WorkerEnv<SqliteDatabase, SqliteStore, SqliteCoordinator, Table> {
        let (db, store) = self.fresh_store().await;
        worker_env(db, store).await
    }
}

#[async_trait]
impl WorkerBackend for SqliteMemory {
    type Coordinator = SqliteCoordinator;
    type Projection = Table;

    async fn fresh_worker(
        &self,
    ) -> WorkerEnv<SqliteDatabase, SqliteStore, SqliteCoordinator, Table> {
        let (db, store) = self.fresh_store().await;
        worker_env(db, store).await
    }
}

impl KeysBackend for SqliteFile {
    type Keys = SqliteKeyStore;

    fn key_store(&self, store: &SqliteStore) -> SqliteKeyStore {
        SqliteKeyStore::new(store)
    }
}

impl KeysBackend for SqliteMemory {
    type Keys = SqliteKeyStore;

    fn key_store(&self, store: &SqliteStore) -> SqliteKeyStore {
        SqliteKeyStore::new(store)
    }
}

impl SnapshotsBackend for SqliteFile {
    type Snapshots = SqliteSnapshotStore;

    fn snapshot_store(&self, store: &SqliteStore) -> SqliteSnapshotStore {
        SqliteSnapshotStore::new(store)
    }
}

impl SnapshotsBackend for SqliteMemory {
    type Snapshots = SqliteSnapshotStore;

    fn snapshot_store(&self, store: &SqliteStore) -> SqliteSnapshotStore {
        SqliteSnapshotStore::new(store)
    }
}

mod file {
    use super::*;

    async fn backend(test_name: &'static str) -> SqliteFile {
        SqliteFile::new(test_name).await
    }

    pupsourcing_conformance::store_suite!(backend);
    pupsourcing_conformance::worker_suite!(backend);
    pupsourcing_conformance::keys_suite!(backend);
    pupsourcing_conformance::snapshots_suite!(backend);
}

mod memory {
    use super::*;

    async fn backend(_test_name: &'static str) -> SqliteMemory {
        SqliteMemory
    }

    pupsourcing_conformance::store_suite!(backend);
    pupsourcing_conformance::worker_suite!(backend);
    pupsourcing_conformance::keys_suite!(backend);
    pupsourcing_conformance::snapshots_suite!(backend);
}

//! The conformance suite on SQLite, twice: on a database file (several connections on one file,
//! fresh tables per store) and on a temporary database (`":memory:"`).

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)] // test code: failing loudly is the point

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use pupsourcing_conformance::{Capabilities, StoreBackend};
use pupsourcing_migrations::Tables;
use pupsourcing_sqlite::{SqliteDatabase, SqliteOptions, SqliteStore, SqliteStoreConfig};

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
        let store =
            SqliteStore::with_config(&self.db, SqliteStoreConfig::default().with_tables(tables))
                .expect("config");
        store.migrate().await.expect("migrate");
        (self.db.clone(), store)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { single_writer: true }
    }
}

/// A temporary database per store.
struct SqliteMemory;

#[async_trait]
impl StoreBackend for SqliteMemory {
    type Db = SqliteDatabase;
    type Store = SqliteStore;

    async fn fresh_store(&self) -> (SqliteDatabase, SqliteStore) {
        let db = SqliteDatabase::open(":memory:").await.expect("open");
        let store = SqliteStore::new(&db);
        store.migrate().await.expect("migrate");
        (db, store)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { single_writer: true }
    }
}

mod file {
    use super::*;

    async fn backend(test_name: &'static str) -> SqliteFile {
        SqliteFile::new(test_name).await
    }

    pupsourcing_conformance::store_suite!(backend);
}

mod memory {
    use super::*;

    async fn backend(_test_name: &'static str) -> SqliteMemory {
        SqliteMemory
    }

    pupsourcing_conformance::store_suite!(backend);
}

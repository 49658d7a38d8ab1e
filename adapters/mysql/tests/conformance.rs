//! The conformance suite on MariaDB: a fresh database per test (see `pupsourcing-testkit`), and
//! fresh tables per store inside it.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)] // test code: failing loudly is the point

use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use pupsourcing_conformance::{Capabilities, KeysBackend, StoreBackend};
use pupsourcing_migrations::{Dialect, Tables};
use pupsourcing_mysql::{MysqlDatabase, MysqlKeyStore, MysqlStore, MysqlStoreConfig};
use pupsourcing_testkit::mysql::TestDatabase;
use sqlx::AssertSqlSafe;

struct Mysql {
    db: MysqlDatabase,
    stores: AtomicU32,
    _database: TestDatabase,
}

#[async_trait]
impl StoreBackend for Mysql {
    type Db = MysqlDatabase;
    type Store = MysqlStore;

    async fn fresh_store(&self) -> (MysqlDatabase, MysqlStore) {
        let n = self.stores.fetch_add(1, Ordering::Relaxed);
        let tables = Tables::new().with_prefix(&format!("s{n}_")).expect("valid prefix");
        let store =
            MysqlStore::with_config(&self.db, MysqlStoreConfig::default().with_tables(tables));
        store.migrate().await.expect("migrate");
        (self.db.clone(), store)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { single_writer: false }
    }

    async fn make_unreadable(&self, db: &MysqlDatabase, store: &MysqlStore, position: u64) {
        let tables = store.config().tables();
        let events = tables.qualified_in(Dialect::Mysql, tables.events());
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let changed = sqlx::query(AssertSqlSafe(format!(
            "UPDATE {events} SET metadata = ? WHERE global_position = ?"
        )))
        .bind(deep)
        .bind(i64::try_from(position).expect("position"))
        .execute(db.pool())
        .await
        .expect("corrupt the row");
        assert_eq!(changed.rows_affected(), 1, "no event at position {position}");
    }
}

impl KeysBackend for Mysql {
    type Keys = MysqlKeyStore;

    fn key_store(&self, store: &MysqlStore) -> MysqlKeyStore {
        MysqlKeyStore::new(store)
    }
}

async fn backend(test_name: &'static str) -> Mysql {
    let database = TestDatabase::new(test_name).await;
    let db = MysqlDatabase::connect(database.url(), 80).await.expect("connect");
    Mysql { db, stores: AtomicU32::new(0), _database: database }
}

pupsourcing_conformance::store_suite!(backend);
pupsourcing_conformance::keys_suite!(backend);

//! The conformance suite on PostgreSQL: a fresh database per test (see `pupsourcing-testkit`),
//! and fresh tables per store inside it, alternating between the default schema and a custom one
//! so that quoting and qualification are exercised everywhere.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)] // test code: failing loudly is the point

use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use pupsourcing_conformance::{Capabilities, StoreBackend};
use pupsourcing_migrations::Tables;
use pupsourcing_postgres::{PgDatabase, PostgresStore, PostgresStoreConfig};
use pupsourcing_testkit::postgres::TestDatabase;

struct Postgres {
    db: PgDatabase,
    stores: AtomicU32,
    _database: TestDatabase,
}

#[async_trait]
impl StoreBackend for Postgres {
    type Db = PgDatabase;
    type Store = PostgresStore;

    async fn fresh_store(&self) -> (PgDatabase, PostgresStore) {
        let n = self.stores.fetch_add(1, Ordering::Relaxed);
        let mut tables = Tables::new().with_prefix(&format!("s{n}_")).expect("valid prefix");
        if n % 2 == 1 {
            tables = tables.with_schema(&format!("Schema_{n}")).expect("valid schema");
        }
        let config = PostgresStoreConfig::default()
            .with_tables(tables)
            .with_notify_channel("pupsourcing_events")
            .expect("valid channel");
        let store = PostgresStore::with_config(&self.db, config);
        store.migrate().await.expect("migrate");
        (self.db.clone(), store)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { single_writer: false }
    }
}

async fn backend(test_name: &'static str) -> Postgres {
    let database = TestDatabase::new(test_name).await;
    let pool = database.pool(64).await.expect("connect");
    Postgres { db: PgDatabase::new(pool), stores: AtomicU32::new(0), _database: database }
}

pupsourcing_conformance::store_suite!(backend);

//! The conformance suite on PostgreSQL: a fresh database per test (see `pupsourcing-testkit`),
//! and fresh tables per store inside it, alternating between the default schema and a custom one
//! so that quoting and qualification are exercised everywhere.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)] // test code: failing loudly is the point

use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use pupsourcing::{BoxError, PersistedEvent};
use pupsourcing_conformance::{
    Capabilities, KeysBackend, Projection, Recorded, SnapshotsBackend, StoreBackend, WorkerBackend,
    WorkerEnv,
};
use pupsourcing_migrations::Tables;
use pupsourcing_postgres::{
    PgDatabase, PgTx, PostgresCoordinator, PostgresKeyStore, PostgresSnapshotStore, PostgresStore,
    PostgresStoreConfig,
};
use pupsourcing_testkit::postgres::TestDatabase;
use sqlx::{AssertSqlSafe, Row};

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

    async fn make_unreadable(&self, db: &PgDatabase, store: &PostgresStore, position: u64) {
        let tables = store.config().tables();
        let events = tables.qualified(tables.events());
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let changed = sqlx::query(AssertSqlSafe(format!(
            "UPDATE {events} SET metadata = $1::json WHERE global_position = $2"
        )))
        .bind(deep)
        .bind(i64::try_from(position).expect("position"))
        .execute(db.pool())
        .await
        .expect("corrupt the row");
        assert_eq!(changed.rows_affected(), 1, "no event at position {position}");
    }
}

/// The test read model: a table with a primary key on (consumer, event id).
#[derive(Clone)]
struct Table(String);

#[async_trait]
impl Projection<PgDatabase> for Table {
    async fn record(
        &self,
        tx: &mut PgTx,
        consumer: &str,
        event: &PersistedEvent,
        seq: u64,
    ) -> Result<(), BoxError> {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO {} (consumer, event_id, position, stream, version, seq) VALUES ($1, $2, $3, $4, $5, $6)",
            self.0
        )))
        .bind(consumer)
        .bind(event.event.event_id)
        .bind(i64::try_from(event.global_position)?)
        .bind(event.stream().to_string())
        .bind(i64::try_from(event.aggregate_version)?)
        .bind(i64::try_from(seq)?)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn clear(&self, tx: &mut PgTx, consumer: &str) -> Result<(), BoxError> {
        sqlx::query(AssertSqlSafe(format!("DELETE FROM {} WHERE consumer = $1", self.0)))
            .bind(consumer)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn recorded(&self, db: &PgDatabase, consumer: &str) -> Vec<Recorded> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT event_id, position, stream, version, seq FROM {} WHERE consumer = $1",
            self.0
        )))
        .bind(consumer)
        .fetch_all(db.pool())
        .await
        .expect("read projection")
        .iter()
        .map(|row| Recorded {
            event_id: row.get(0),
            position: u64::try_from(row.get::<i64, _>(1)).expect("position"),
            stream: row.get(2),
            version: u64::try_from(row.get::<i64, _>(3)).expect("version"),
            seq: u64::try_from(row.get::<i64, _>(4)).expect("seq"),
        })
        .collect()
    }
}

#[async_trait]
impl WorkerBackend for Postgres {
    type Coordinator = PostgresCoordinator;
    type Projection = Table;

    async fn fresh_worker(
        &self,
    ) -> WorkerEnv<PgDatabase, PostgresStore, PostgresCoordinator, Table> {
        let (db, store) = self.fresh_store().await;
        let tables = store.config().tables();
        let table = tables.qualified(&tables.events().with_suffix("_projection"));
        sqlx::raw_sql(AssertSqlSafe(format!(
            "CREATE TABLE {table} (consumer text NOT NULL, event_id uuid NOT NULL, position bigint NOT NULL, \
             stream text NOT NULL, version bigint NOT NULL, seq bigint NOT NULL, PRIMARY KEY (consumer, event_id))"
        )))
        .execute(db.pool())
        .await
        .expect("projection table");
        WorkerEnv {
            coordinator: PostgresCoordinator::new(&store),
            projection: Table(table),
            db,
            store,
        }
    }
}

impl KeysBackend for Postgres {
    type Keys = PostgresKeyStore;

    fn key_store(&self, store: &PostgresStore) -> PostgresKeyStore {
        PostgresKeyStore::new(store)
    }
}

impl SnapshotsBackend for Postgres {
    type Snapshots = PostgresSnapshotStore;

    fn snapshot_store(&self, store: &PostgresStore) -> PostgresSnapshotStore {
        PostgresSnapshotStore::new(store)
    }
}

async fn backend(test_name: &'static str) -> Postgres {
    let database = TestDatabase::new(test_name).await;
    let pool = database.pool(64).await.expect("connect");
    Postgres { db: PgDatabase::new(pool), stores: AtomicU32::new(0), _database: database }
}

pupsourcing_conformance::store_suite!(backend);
pupsourcing_conformance::worker_suite!(backend);
pupsourcing_conformance::keys_suite!(backend);
pupsourcing_conformance::snapshots_suite!(backend);

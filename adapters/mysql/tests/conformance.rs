//! The conformance suite on MariaDB: a fresh database per test (see `pupsourcing-testkit`), and
//! fresh tables per store inside it.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)] // test code: failing loudly is the point

use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use pupsourcing::{BoxError, PersistedEvent};
use pupsourcing_conformance::{
    Capabilities, KeysBackend, Projection, Recorded, SnapshotsBackend, StoreBackend, WorkerBackend,
    WorkerEnv,
};
use pupsourcing_migrations::{Dialect, Tables};
use pupsourcing_mysql::{
    GapStrategy, MysqlCoordinator, MysqlDatabase, MysqlKeyStore, MysqlSnapshotStore, MysqlStore,
    MysqlStoreConfig, MysqlTx, PositionReadback,
};
use pupsourcing_testkit::mysql::TestDatabase;
use sqlx::{AssertSqlSafe, Row};

struct Mysql {
    db: MysqlDatabase,
    stores: AtomicU32,
    strategy: GapStrategy,
    readback: PositionReadback,
    _database: TestDatabase,
}

#[async_trait]
impl StoreBackend for Mysql {
    type Db = MysqlDatabase;
    type Store = MysqlStore;

    async fn fresh_store(&self) -> (MysqlDatabase, MysqlStore) {
        let n = self.stores.fetch_add(1, Ordering::Relaxed);
        let tables = Tables::new().with_prefix(&format!("s{n}_")).expect("valid prefix");
        let config = MysqlStoreConfig::default()
            .with_tables(tables)
            .with_gap_strategy(self.strategy)
            .with_position_readback(self.readback);
        let store = MysqlStore::with_config(&self.db, config);
        store.migrate().await.expect("migrate");
        (self.db.clone(), store)
    }

    fn capabilities(&self) -> Capabilities {
        // The counter row makes writers take turns, in commit order: a single writer.
        Capabilities { single_writer: self.strategy == GapStrategy::CounterRow }
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

/// The test read model: a table with a primary key on (consumer, event id).
#[derive(Clone)]
struct Table(String);

#[async_trait]
impl Projection<MysqlDatabase> for Table {
    async fn record(
        &self,
        tx: &mut MysqlTx,
        consumer: &str,
        event: &PersistedEvent,
        seq: u64,
    ) -> Result<(), BoxError> {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO {} (consumer, event_id, position, stream, version, seq) \
             VALUES (?, ?, ?, ?, ?, ?)",
            self.0
        )))
        .bind(consumer)
        .bind(event.event.event_id.to_string())
        .bind(i64::try_from(event.global_position)?)
        .bind(event.stream().to_string())
        .bind(i64::try_from(event.aggregate_version)?)
        .bind(i64::try_from(seq)?)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn clear(&self, tx: &mut MysqlTx, consumer: &str) -> Result<(), BoxError> {
        sqlx::query(AssertSqlSafe(format!("DELETE FROM {} WHERE consumer = ?", self.0)))
            .bind(consumer)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn recorded(&self, db: &MysqlDatabase, consumer: &str) -> Vec<Recorded> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT event_id, position, stream, version, seq FROM {} WHERE consumer = ?",
            self.0
        )))
        .bind(consumer)
        .fetch_all(db.pool())
        .await
        .expect("read projection")
        .iter()
        .map(|row| Recorded {
            event_id: row.get::<String, _>(0).parse().expect("uuid"),
            position: u64::try_from(row.get::<i64, _>(1)).expect("position"),
            stream: row.get(2),
            version: u64::try_from(row.get::<i64, _>(3)).expect("version"),
            seq: u64::try_from(row.get::<i64, _>(4)).expect("seq"),
        })
        .collect()
    }
}

#[async_trait]
impl WorkerBackend for Mysql {
    type Coordinator = MysqlCoordinator;
    type Projection = Table;

    async fn fresh_worker(&self) -> WorkerEnv<MysqlDatabase, MysqlStore, MysqlCoordinator, Table> {
        let (db, store) = self.fresh_store().await;
        let tables = store.config().tables();
        let table =
            tables.qualified_in(Dialect::Mysql, &tables.events().with_suffix("_projection"));
        sqlx::raw_sql(AssertSqlSafe(format!(
            "CREATE TABLE {table} (consumer VARCHAR(255) NOT NULL, event_id CHAR(36) NOT NULL, \
             position BIGINT NOT NULL, stream VARCHAR(2000) NOT NULL, version BIGINT NOT NULL, \
             seq BIGINT NOT NULL, PRIMARY KEY (consumer, event_id)) COLLATE utf8mb4_bin"
        )))
        .execute(db.pool())
        .await
        .expect("projection table");
        WorkerEnv {
            coordinator: MysqlCoordinator::new(&store),
            projection: Table(table),
            db,
            store,
        }
    }
}

impl SnapshotsBackend for Mysql {
    type Snapshots = MysqlSnapshotStore;

    fn snapshot_store(&self, store: &MysqlStore) -> MysqlSnapshotStore {
        MysqlSnapshotStore::new(store)
    }
}

async fn with_strategy(test_name: &'static str, strategy: GapStrategy) -> Mysql {
    let database = TestDatabase::new(test_name).await;
    let db = MysqlDatabase::connect(database.url(), 80).await.expect("connect");
    let readback = PositionReadback::Detect;
    Mysql { db, stores: AtomicU32::new(0), strategy, readback, _database: database }
}

async fn backend(test_name: &'static str) -> Mysql {
    with_strategy(test_name, GapStrategy::TransactionFence).await
}

pupsourcing_conformance::store_suite!(backend);
pupsourcing_conformance::keys_suite!(backend);
pupsourcing_conformance::worker_suite!(backend);
pupsourcing_conformance::snapshots_suite!(backend);

/// Positions read back from `LAST_INSERT_ID()`, as on MySQL 8, pass the store scenarios too.
mod last_insert_id {
    use super::*;

    async fn backend(test_name: &'static str) -> Mysql {
        let mut backend = with_strategy(test_name, GapStrategy::TransactionFence).await;
        backend.readback = PositionReadback::LastInsertId;
        backend
    }

    pupsourcing_conformance::store_suite!(backend);
}

/// The serialized counter-row strategy passes the store scenarios too.
mod counter_row {
    use super::*;

    async fn backend(test_name: &'static str) -> Mysql {
        with_strategy(test_name, GapStrategy::CounterRow).await
    }

    pupsourcing_conformance::store_suite!(backend);
}

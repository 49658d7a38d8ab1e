//! `mysql`: the MySQL store on MariaDB beside raw SQL through the same pool, on durable
//! commits and again with a binary log synced at every commit.

mod append;
mod catchup;
mod holes;
mod read;

use pupsourcing_mysql::{GapStrategy, MysqlDatabase, MysqlStore, MysqlStoreConfig, Tables};
use pupsourcing_testkit::mysql::{TestDatabase, binlog_server_url, durable_server_url};

use crate::{BenchError, Report};

/// A store whose tables carry `prefix`, migrated.
async fn store(
    db: &MysqlDatabase,
    prefix: &str,
    strategy: GapStrategy,
) -> Result<MysqlStore, BenchError> {
    let tables = Tables::new().with_prefix(prefix).map_err(|_| BenchError::Stuck("prefix"))?;
    let config = MysqlStoreConfig::default().with_tables(tables).with_gap_strategy(strategy);
    let store = MysqlStore::with_config(db, config);
    store.migrate().await?;
    Ok(store)
}

pub(crate) async fn run(report: &mut Report) -> Result<(), BenchError> {
    let database = TestDatabase::create_on(durable_server_url()?, "bench_mysql").await?;
    let db = MysqlDatabase::connect(database.url(), 16).await?;
    let fence = store(&db, "", GapStrategy::TransactionFence).await?;
    let counter = store(&db, "c_", GapStrategy::CounterRow).await?;
    println!(
        "mysql: durable commits (a throwaway MariaDB with innodb_flush_log_at_trx_commit=1 and no binary log, unless MYSQL_URL is set)"
    );
    append::run(report, "mysql", &db, &fence, &counter, true).await?;
    let loaded = store(&db, "r_", GapStrategy::TransactionFence).await?;
    read::run(report, &db, &loaded, "r_events").await?;
    catchup::run(report, &db, &loaded, "r_events").await?;
    holes::run(report, &db, &fence).await?;

    let database = TestDatabase::create_on(binlog_server_url()?, "bench_mysql_binlog").await?;
    let db = MysqlDatabase::connect(database.url(), 16).await?;
    let fence = store(&db, "", GapStrategy::TransactionFence).await?;
    let counter = store(&db, "c_", GapStrategy::CounterRow).await?;
    println!("mysql: durable commits with log_bin and sync_binlog=1 (unless MYSQL_URL is set)");
    append::run(report, "mysql binlog", &db, &fence, &counter, false).await
}

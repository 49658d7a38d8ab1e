//! `mysql`: appends through the MySQL store on MariaDB against raw INSERTs of the same rows into
//! the same table, through the same pool (BEGIN, INSERT, durable COMMIT), interleaved rounds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pupsourcing::EventStore;
use pupsourcing_mysql::{GapStrategy, MysqlDatabase, MysqlStore, MysqlStoreConfig, Tables};
use pupsourcing_testkit::mysql::{TestDatabase, durable_server_url};
use tokio::sync::Barrier;
use uuid::Uuid;

use crate::append::{Target, ours, payload};
use crate::stats::{Samples, human, raw_first};
use crate::{BenchError, Report};

const ROUNDS: usize = 7;

/// The same rows with plain SQL: one (multi-row) INSERT per transaction, into the same table.
async fn raw(db: MysqlDatabase, ops: usize, batch: usize) -> Result<(), BenchError> {
    let row = "('', 'raw', ?, ?, 0, ?, 'Appended', 1, ?, '{}', UTC_TIMESTAMP(6))";
    let sql = format!(
        "INSERT INTO events (bounded_context, aggregate_type, aggregate_id, aggregate_version, \
         stream_hash, event_id, event_type, event_version, payload, metadata, created_at) \
         VALUES {}",
        vec![row; batch].join(", ")
    );
    for op in 0..ops {
        let stream = Uuid::new_v4().to_string();
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
        for i in 0..batch {
            query = query
                .bind(stream.clone())
                .bind(i64::try_from(i + 1).unwrap_or(0))
                .bind(Uuid::now_v7().as_bytes().to_vec())
                .bind(payload(op * batch + i));
        }
        let mut tx = db.pool().begin().await?;
        query.execute(&mut *tx).await?;
        tx.commit().await?;
    }
    Ok(())
}

async fn round(
    db: &MysqlDatabase,
    store: Option<&MysqlStore>,
    writers: usize,
    ops: usize,
    batch: usize,
) -> Result<Duration, BenchError> {
    let barrier = Arc::new(Barrier::new(writers + 1));
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            let (db, store, barrier) = (db.clone(), store.cloned(), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                match store {
                    Some(store) => ours(&db, &store, Target::NewStream, ops, batch).await,
                    None => raw(db, ops, batch).await,
                }
            })
        })
        .collect();
    barrier.wait().await;
    let started = Instant::now();
    for task in tasks {
        task.await.map_err(|_| BenchError::Stuck("a writer task failed"))??;
    }
    Ok(started.elapsed())
}

pub(crate) async fn run(report: &mut Report) -> Result<(), BenchError> {
    let database = TestDatabase::create_on(durable_server_url()?, "bench_mysql").await?;
    let db = MysqlDatabase::connect(database.url(), 16).await?;
    let store = MysqlStore::new(&db);
    store.migrate().await?;
    let counter = MysqlStore::with_config(
        &db,
        MysqlStoreConfig::default()
            .with_tables(Tables::new().with_prefix("c_").map_err(|_| BenchError::Stuck("prefix"))?)
            .with_gap_strategy(GapStrategy::CounterRow),
    );
    counter.migrate().await?;
    println!("mysql: MariaDB, durable commits, {ROUNDS} interleaved rounds per case");
    for (name, store, writers, ops, batch) in [
        ("mysql: append 1 event, new stream, 1 writer", &store, 1, 200, 1),
        ("mysql: append 1 event, new stream, 8 writers", &store, 8, 100, 1),
        ("mysql: append 100 events, 1 writer", &store, 1, 30, 100),
        ("mysql counter row: append 1 event, 1 writer", &counter, 1, 200, 1),
        ("mysql counter row: append 1 event, 8 writers", &counter, 8, 100, 1),
    ] {
        let (mut ours_rounds, mut raw_rounds) = (Samples::default(), Samples::default());
        for n in 0..ROUNDS {
            if raw_first(n) {
                raw_rounds.push(round(&db, None, writers, ops, batch).await?);
            }
            ours_rounds.push(round(&db, Some(store), writers, ops, batch).await?);
            if !raw_first(n) {
                raw_rounds.push(round(&db, None, writers, ops, batch).await?);
            }
        }
        let total = u32::try_from(writers * ops).unwrap_or(u32::MAX);
        report.rate_case(
            name,
            f64::from(total) / ours_rounds.median().as_secs_f64(),
            f64::from(total) / raw_rounds.median().as_secs_f64(),
            "appends/s",
            &format!(
                "{} vs {} per append",
                human(ours_rounds.median() / total),
                human(raw_rounds.median() / total)
            ),
        );
    }
    let mut advance = Samples::default();
    for _ in 0..20 {
        let started = Instant::now();
        store.advance_frontier().await?;
        advance.push(started.elapsed());
    }
    report.line(format!(
        "mysql: frontier advance, nothing new          median {}  p99 {}",
        human(advance.median()),
        human(advance.quantile(990))
    ));
    Ok(())
}

//! A worker with a no-op consumer working through the loaded log, with and without reading
//! ahead, against a raw ordered read of the same rows in pages of the worker's largest batch.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use pupsourcing::{Admin, EventStore};
use pupsourcing_mysql::{MysqlDatabase, MysqlStore};
use sqlx::Row;

use super::read::{EVENTS, decode_all, raw_global};
use crate::catchup::{BATCH, NoOp, ROUNDS, rate, steady, worker_catchup};
use crate::stats::{Samples, human};
use crate::{BenchError, Report};

async fn raw_read(db: &MysqlDatabase, events: &str) -> Result<(u64, Duration), BenchError> {
    let sql = raw_global(events);
    let started = Instant::now();
    let (mut after, mut count) = (0i64, 0u64);
    loop {
        let mut tx = db.pool().begin().await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(after)
            .bind(i64::try_from(BATCH).unwrap_or(i64::MAX))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get(0)?;
        for row in &rows {
            decode_all(row)?;
        }
        count += u64::try_from(rows.len()).unwrap_or(0);
    }
    Ok((count, started.elapsed()))
}

/// The catch-up case on `store` (already loaded by the read case), whose events table is
/// `events`.
pub(super) async fn run(
    report: &mut Report,
    db: &MysqlDatabase,
    store: &MysqlStore,
    events: &str,
) -> Result<(), BenchError> {
    let backend = pupsourcing_mysql::from_store(store.clone());
    let latest = store.advance_frontier().await?.latest_position;
    let handled = Arc::new(AtomicU64::new(0));
    let (mut raw, mut ours, mut serial) = (Samples::default(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let (count, elapsed) = raw_read(db, events).await?;
        if count != EVENTS {
            return Err(BenchError::Stuck("the raw read did not see every event"));
        }
        raw.push(elapsed);
        for (read_ahead, rounds) in [(true, &mut ours), (false, &mut serial)] {
            if round > 0 || !read_ahead {
                Admin::new(&backend).rewind("noop", 0).await?;
            }
            let consumer = Box::new(NoOp(Arc::clone(&handled)));
            rounds
                .push(worker_catchup(&backend, consumer, "noop", latest, BATCH, read_ahead).await?);
        }
    }
    if handled.load(Ordering::Relaxed) != 2 * EVENTS * u64::try_from(ROUNDS).unwrap_or(1) {
        return Err(BenchError::Stuck("the no-op consumer did not see every event once per round"));
    }
    let total = Samples::from_iter(ours.iter().map(|c| c.total));
    let (raw_rate, our_rate) = (rate(EVENTS, raw.median()), rate(EVENTS, total.median()));
    report.line(format!(
        "mysql: catchup, no-op consumer ({EVENTS} events)  pupsourcing {our_rate:.0} ev/s  \
         raw ordered read {raw_rate:.0} ev/s  ratio {:.2}  (median of {ROUNDS}; worker {}, raw {})",
        our_rate / raw_rate,
        human(total.median()),
        human(raw.median()),
    ));
    report.line(steady("mysql: catchup, no-op consumer", &ours, raw_rate));
    let total = Samples::from_iter(serial.iter().map(|c| c.total));
    report.line(format!(
        "mysql: catchup, no-op consumer, without read-ahead  pupsourcing {:.0} ev/s  ratio {:.2}",
        rate(EVENTS, total.median()),
        rate(EVENTS, total.median()) / raw_rate,
    ));
    report.line(steady("mysql: catchup without read-ahead", &serial, raw_rate));
    Ok(())
}

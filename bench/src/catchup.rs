//! `catchup`: a worker working through a backlog, against a raw ordered read of the same rows.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pupsourcing::spi::Coordinator;
use pupsourcing::{
    Admin, Backend, Consumer, Database, EventStore, HandlerError, PersistedEvent, Worker,
    WorkerConfig,
};
use pupsourcing_postgres::{PgDatabase, PgTx, PostgresStore};
use sqlx::Row;

use crate::stats::{Samples, human};
use crate::{BenchError, Report, load_events};

/// Rows per page of the raw read: the worker's largest batch (it grows there while behind).
pub(crate) const BATCH: usize = 2000;

/// Counts events and does nothing else.
pub(crate) struct NoOp(pub(crate) Arc<AtomicU64>);

#[async_trait]
impl<D: Database> Consumer<D> for NoOp {
    fn name(&self) -> &str {
        "noop"
    }

    async fn handle(&self, _tx: &mut D::Tx, _event: &PersistedEvent) -> Result<(), HandlerError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// A no-op consumer of its own name, split into `partitions`.
pub(crate) struct Partitioned {
    pub(crate) name: String,
    pub(crate) partitions: u32,
    pub(crate) handled: Arc<AtomicU64>,
}

#[async_trait]
impl<D: Database> Consumer<D> for Partitioned {
    fn name(&self) -> &str {
        &self.name
    }

    fn partitions(&self) -> u32 {
        self.partitions
    }

    async fn handle(&self, _tx: &mut D::Tx, _event: &PersistedEvent) -> Result<(), HandlerError> {
        self.handled.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// Upserts one read-model row per event.
struct Upsert;

#[async_trait]
impl Consumer<PgDatabase> for Upsert {
    fn name(&self) -> &str {
        "upsert"
    }

    async fn handle(&self, tx: &mut PgTx, event: &PersistedEvent) -> Result<(), HandlerError> {
        sqlx::query(
            "INSERT INTO bench_read_model (stream, version) VALUES ($1, $2) \
             ON CONFLICT (stream) DO UPDATE SET version = EXCLUDED.version",
        )
        .bind(event.stream().aggregate_id())
        .bind(i64::try_from(event.aggregate_version)?)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

/// Decodes every column, as a consumer needs them.
pub(crate) fn decode_all(row: &sqlx::postgres::PgRow) -> Result<(), BenchError> {
    let _: (i64, i64, String, String, String, uuid::Uuid, String, i32) = (
        row.try_get(0)?,
        row.try_get(1)?,
        row.try_get(2)?,
        row.try_get(3)?,
        row.try_get(4)?,
        row.try_get(5)?,
        row.try_get(6)?,
        row.try_get(7)?,
    );
    let _: (Vec<u8>, serde_json::Value, chrono::DateTime<chrono::Utc>) =
        (row.try_get(8)?, row.try_get(9)?, row.try_get(10)?);
    let _: (Option<String>, Option<String>, Option<String>) =
        (row.try_get(11)?, row.try_get(12)?, row.try_get(13)?);
    Ok(())
}

/// Pages through the whole log in position order with plain SQL, decoding every column.
async fn raw_read(db: &PgDatabase, upsert: bool) -> Result<(u64, Duration), BenchError> {
    raw_read_pages(db, upsert, BATCH).await
}

/// [`raw_read`] in pages of `page` rows.
async fn raw_read_pages(
    db: &PgDatabase,
    upsert: bool,
    page: usize,
) -> Result<(u64, Duration), BenchError> {
    let started = Instant::now();
    let mut after = 0i64;
    let mut count = 0u64;
    loop {
        let mut tx = db.pool().begin().await?;
        let rows = sqlx::query(
            "SELECT global_position, aggregate_version, bounded_context, aggregate_type, aggregate_id, \
             event_id, event_type, event_version, payload, metadata, created_at, trace_id, correlation_id, \
             causation_id FROM events WHERE global_position > $1 ORDER BY global_position LIMIT $2",
        )
        .bind(after)
        .bind(i64::try_from(page).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get(0)?;
        for row in &rows {
            decode_all(row)?;
            if upsert {
                sqlx::query(
                    "INSERT INTO bench_raw_model (stream, version) VALUES ($1, $2) \
                     ON CONFLICT (stream) DO UPDATE SET version = EXCLUDED.version",
                )
                .bind(row.try_get::<String, _>(4)?)
                .bind(row.try_get::<i64, _>(1)?)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        count += u64::try_from(rows.len()).unwrap_or(0);
    }
    Ok((count, started.elapsed()))
}

/// How long a catch-up took: in all, and from the first poll that saw every partition's
/// checkpoint moved to the end (`steady`: events per second once the worker had joined, won the
/// leadership, planned and committed a first batch, which a short backlog does not amortize).
pub(crate) struct Catchup {
    pub(crate) total: Duration,
    pub(crate) first_checkpoint: Duration,
    pub(crate) steady: Option<f64>,
}

/// Runs one worker node with `consumer`, its batches growing up to `max_batch` events (each
/// full one reading the next ahead if `read_ahead`), until the checkpoint of every partition has
/// reached `latest`.
pub(crate) async fn worker_catchup<D, S, C, K>(
    backend: &Backend<D, S, C, K>,
    consumer: Box<dyn Consumer<D>>,
    name: &str,
    latest: u64,
    max_batch: usize,
    read_ahead: bool,
) -> Result<Catchup, BenchError>
where
    D: Database,
    S: EventStore<D> + Clone,
    C: Coordinator<D> + Clone,
{
    let partitions = usize::try_from(consumer.partitions()).unwrap_or(1);
    let config = WorkerConfig {
        node_id: "bench".into(),
        max_batch_size: max_batch,
        read_ahead,
        ..WorkerConfig::default()
    };
    let worker =
        Worker::builder(backend).config(config).shared_consumer(Arc::from(consumer)).build()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let running = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    // Polling the checkpoint costs the server little: every 20 ms, one indexed lookup.
    let admin = Admin::new(backend);
    let mut first: Option<(Instant, u64)> = None;
    loop {
        let status = admin.status().await?;
        let checkpoints: Vec<u64> = status
            .iter()
            .filter(|s| s.unit.unit.consumer == name)
            .map(|s| s.unit.checkpoint)
            .collect();
        if checkpoints.len() >= partitions && checkpoints.iter().all(|&c| c >= latest) {
            break;
        }
        let lowest = checkpoints.iter().copied().min().unwrap_or(0);
        if first.is_none() && checkpoints.len() >= partitions && lowest > 0 {
            first = Some((Instant::now(), lowest));
        }
        if started.elapsed() > Duration::from_secs(600) {
            return Err(BenchError::Stuck("catch-up did not finish within 10 minutes"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (done, total) = (Instant::now(), started.elapsed());
    let _ = stop.send(());
    running.await.map_err(|_| BenchError::Stuck("worker task failed"))??;
    let (first_checkpoint, steady) = match first {
        Some((at, from)) => (at - started, Some(rate(latest - from, done - at))),
        None => (total, None),
    };
    Ok(Catchup { total, first_checkpoint, steady })
}

/// The report line of a case's steady rate: after the first checkpoint, against `raw_rate`.
pub(crate) fn steady(what: &str, rounds: &[Catchup], raw_rate: f64) -> String {
    let mut rates: Vec<f64> = rounds.iter().filter_map(|c| c.steady).collect();
    rates.sort_by(f64::total_cmp);
    let first = Samples::from_iter(rounds.iter().map(|c| c.first_checkpoint));
    match rates.get(rates.len() / 2) {
        Some(median) => format!(
            "{what}, after the first checkpoint  pupsourcing {median:.0} ev/s  ratio {:.2}  \
             (first checkpoint after {}, median of {})",
            median / raw_rate,
            human(first.median()),
            rates.len()
        ),
        None => {
            format!("{what}, after the first checkpoint: the backlog was gone by the first poll")
        }
    }
}

pub(crate) fn rate(count: u64, elapsed: Duration) -> f64 {
    let count = u32::try_from(count).map_or(f64::from(u32::MAX), f64::from);
    count / elapsed.as_secs_f64().max(f64::EPSILON)
}

/// Rounds of each side, interleaved (raw, ours, raw, ours, ...): the machine's noise hits both.
pub(crate) const ROUNDS: usize = 3;

/// One catch-up case: `ROUNDS` raw passes and `ROUNDS` worker passes over the same log.
async fn case<F>(
    db: &PgDatabase,
    store: &PostgresStore,
    events: u64,
    latest: u64,
    upsert: bool,
    consumer: F,
) -> Result<(Samples, Vec<Catchup>), BenchError>
where
    F: Fn() -> Box<dyn Consumer<PgDatabase>>,
{
    let name = if upsert { "upsert" } else { "noop" };
    let (mut raw, mut ours) = (Samples::default(), Vec::new());
    for round in 0..ROUNDS {
        sqlx::query("TRUNCATE bench_read_model, bench_raw_model").execute(db.pool()).await?;
        let (count, elapsed) = raw_read(db, upsert).await?;
        if count != events {
            return Err(BenchError::Stuck("the raw read did not see every event"));
        }
        raw.push(elapsed);
        if round > 0 {
            Admin::new(&pupsourcing_postgres::from_store(store.clone())).rewind(name, 0).await?;
        }
        let backend = pupsourcing_postgres::from_store(store.clone());
        ours.push(worker_catchup(&backend, consumer(), name, latest, BATCH, true).await?);
    }
    Ok((raw, ours))
}

pub(crate) async fn run(
    db: &PgDatabase,
    store: &PostgresStore,
    events: u64,
    upsert: bool,
    report: &mut Report,
) -> Result<(), BenchError> {
    println!("catchup: loading {events} events ...");
    load_events(db, events).await?;
    for table in ["bench_read_model", "bench_raw_model"] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE TABLE {table} (stream text PRIMARY KEY, version bigint NOT NULL)"
        )))
        .execute(db.pool())
        .await?;
    }
    let latest = pupsourcing::EventStore::advance_frontier(store).await?.latest_position;
    let handled = Arc::new(AtomicU64::new(0));
    let (raw, ours) = if upsert {
        case(db, store, events, latest, true, || Box::new(Upsert)).await?
    } else {
        let counter = Arc::clone(&handled);
        case(db, store, events, latest, false, move || Box::new(NoOp(Arc::clone(&counter)))).await?
    };
    if !upsert && handled.load(Ordering::Relaxed) != events * u64::try_from(ROUNDS).unwrap_or(1) {
        return Err(BenchError::Stuck(
            "the no-op consumer did not see every event exactly once per round",
        ));
    }
    let total = Samples::from_iter(ours.iter().map(|c| c.total));
    let (raw_rate, our_rate) = (rate(events, raw.median()), rate(events, total.median()));
    let (what, baseline) = if upsert {
        ("catchup, consumer upserting a row per event", "raw read + upsert")
    } else {
        ("catchup, no-op consumer", "raw ordered read")
    };
    report.line(format!(
        "{what} ({events} events)  pupsourcing {our_rate:.0} ev/s  {baseline} {raw_rate:.0} ev/s  ratio {:.2}  \
         (median of {ROUNDS}; worker {}, raw {})",
        our_rate / raw_rate,
        human(total.median()),
        human(raw.median()),
    ));
    report.line(steady(what, &ours, raw_rate));
    if !upsert {
        shapes(db, store, events, latest, report).await?;
    }
    Ok(())
}

/// The no-op catch-up again, once per shape: without reading ahead, split into 2 and 4
/// partitions (each partition reads the log for its streams), and with batches growing to 500,
/// 5 000 and 10 000 events instead of [`BATCH`]; against one raw ordered read in pages of the
/// same size.
async fn shapes(
    db: &PgDatabase,
    store: &PostgresStore,
    events: u64,
    latest: u64,
    report: &mut Report,
) -> Result<(), BenchError> {
    let backend = pupsourcing_postgres::from_store(store.clone());
    let shapes = [
        (1, BATCH, false),
        (2, BATCH, true),
        (4, BATCH, true),
        (1, 500, true),
        (1, 5_000, true),
        (1, 10_000, true),
    ];
    for (partitions, max_batch, read_ahead) in shapes {
        let (count, raw_elapsed) = raw_read_pages(db, false, max_batch).await?;
        if count != events {
            return Err(BenchError::Stuck("the raw read did not see every event"));
        }
        let raw_rate = rate(events, raw_elapsed);
        let handled = Arc::new(AtomicU64::new(0));
        let name = format!("noop-{partitions}p-{max_batch}-{read_ahead}");
        let consumer =
            Box::new(Partitioned { name: name.clone(), partitions, handled: Arc::clone(&handled) });
        let elapsed =
            worker_catchup(&backend, consumer, &name, latest, max_batch, read_ahead).await?.total;
        if handled.load(Ordering::Relaxed) != events {
            return Err(BenchError::Stuck("a partitioned consumer did not see every event once"));
        }
        let our_rate = rate(events, elapsed);
        let ahead = if read_ahead { "" } else { ", without read-ahead" };
        report.line(format!(
            "catchup, no-op consumer, {partitions} partition(s), batches up to {max_batch}{ahead}  \
             pupsourcing {our_rate:.0} ev/s  raw ordered read, pages of {max_batch}, \
             {raw_rate:.0} ev/s  ratio {:.2}  (one pass, {})",
            our_rate / raw_rate,
            human(elapsed),
        ));
    }
    Ok(())
}

//! `latency`: how long after an append commits an idle worker's handler sees the event, with
//! NOTIFY wake-ups and default settings (an `append_committed`, and an append in a transaction,
//! whose notification the store sends once it learns of the commit), against the raw limit: a
//! hand-written consumer that LISTENs, receives the `pg_notify` sent by the committing
//! transaction, and reads from the notified position (no frontier, no checkpoint, no fencing).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pupsourcing::{
    Consumer, Database, Event, EventStore, ExpectedVersion, HandlerError, PersistedEvent, StreamId,
    Worker, WorkerConfig,
};
use pupsourcing_postgres::{PgDatabase, PgTx, PostgresStore, PostgresStoreConfig};
use sqlx::Row;
use sqlx::postgres::PgListener;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::stats::{Samples, human};
use crate::{BenchError, Report};

const SAMPLES: usize = 300;
const CHANNEL: &str = "bench_latency";
const RAW_CHANNEL: &str = "bench_latency_raw";

/// A raw append that notifies with its position, as the store does.
const RAW_APPEND: &str = "WITH ins AS (INSERT INTO events (aggregate_type, aggregate_id, aggregate_version, \
     stream_hash, event_id, event_type, event_version, payload, metadata, created_at) \
     VALUES ('raw', 'latency', $1, 0, gen_random_uuid(), 'Tick', 1, '\\x00', '{}', now()) \
     RETURNING global_position) \
     SELECT global_position FROM ins, LATERAL pg_notify($2, global_position::text)";

/// What a hand-written consumer does when woken: read from the notified position.
const RAW_READ: &str = "SELECT global_position, payload FROM events WHERE global_position > $1 \
     ORDER BY global_position LIMIT 100";

/// Reports when it handles each event.
struct Stopwatch(mpsc::UnboundedSender<(Uuid, Instant)>);

#[async_trait]
impl Consumer<PgDatabase> for Stopwatch {
    fn name(&self) -> &str {
        "latency"
    }

    async fn handle(&self, _tx: &mut PgTx, event: &PersistedEvent) -> Result<(), HandlerError> {
        // A closed receiver only means the bench is over.
        let _ = self.0.send((event.event.event_id, Instant::now()));
        Ok(())
    }
}

/// An idle gap between samples, varied so the worker is caught at every point of its idle cycle.
fn gap(i: usize) -> Duration {
    Duration::from_millis(5 + u64::try_from(i * 7919 % 40).unwrap_or(0))
}

async fn handled(
    seen: &mut mpsc::UnboundedReceiver<(Uuid, Instant)>,
    id: Uuid,
) -> Result<Instant, BenchError> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), seen.recv()).await {
            Ok(Some((handled, at))) if handled == id => return Ok(at),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return Err(BenchError::Stuck("the handler never saw an event")),
        }
    }
}

pub(crate) async fn run(db: &PgDatabase, report: &mut Report) -> Result<(), BenchError> {
    let config = PostgresStoreConfig::default()
        .with_notify_channel(CHANNEL)
        .map_err(|_| BenchError::Stuck("invalid channel"))?;
    let store = PostgresStore::with_config(db, config);
    store.migrate().await?;
    let (sender, mut seen) = mpsc::unbounded_channel();
    let worker = Worker::builder(&pupsourcing_postgres::from_store(store.clone()))
        .config(WorkerConfig { node_id: "latency".into(), ..WorkerConfig::default() })
        .shared_consumer(Arc::new(Stopwatch(sender)))
        .build()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));

    let stream = StreamId::new("bench", "latency");
    let tick = |i: usize| {
        Event::new(&stream, "Tick", u64::try_from(i).unwrap_or(0).to_be_bytes().to_vec())
    };
    let append = |i: usize| {
        let (event, store) = (tick(i), store.clone());
        let id = event.event_id;
        async move { store.append_committed(db, ExpectedVersion::Any, vec![event]).await.map(|_| id) }
    };
    let append_in_transaction = |i: usize| {
        let (event, store) = (tick(i), store.clone());
        let id = event.event_id;
        async move {
            let mut tx = db.begin().await?;
            store.append(&mut tx, ExpectedVersion::Any, vec![event]).await?;
            db.commit(tx).await?;
            Ok::<_, BenchError>(id)
        }
    };
    let id = append(0).await?;
    handled(&mut seen, id).await?;

    let mut listener = PgListener::connect_with(db.pool()).await?;
    listener.listen(RAW_CHANNEL).await?;
    println!(
        "latency: {SAMPLES} appends of each kind to an idle worker (default settings, NOTIFY), and as many raw NOTIFYs"
    );
    let (mut ours, mut in_transaction, mut raw) =
        (Samples::default(), Samples::default(), Samples::default());
    for i in 1..=SAMPLES {
        tokio::time::sleep(gap(i)).await;
        let id = append(i).await?;
        let committed = Instant::now();
        ours.push(handled(&mut seen, id).await? - committed);

        tokio::time::sleep(gap(i)).await;
        let id = append_in_transaction(i).await?;
        let committed = Instant::now();
        in_transaction.push(handled(&mut seen, id).await? - committed);

        tokio::time::sleep(gap(i)).await;
        let mut tx = db.pool().begin().await?;
        let position: i64 = sqlx::query_scalar(RAW_APPEND)
            .bind(i64::try_from(i).unwrap_or(0))
            .bind(RAW_CHANNEL)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        let committed = Instant::now();
        let notification = tokio::time::timeout(Duration::from_secs(10), listener.recv())
            .await
            .map_err(|_| BenchError::Stuck("the raw NOTIFY never arrived"))??;
        let after = notification.payload().parse::<i64>().map_or(0, |p| p - 1);
        let mut tx = db.pool().begin().await?;
        let rows = sqlx::query(RAW_READ).bind(after).fetch_all(&mut *tx).await?;
        if !rows.iter().any(|row| row.try_get::<i64, _>(0).is_ok_and(|p| p == position)) {
            return Err(BenchError::Stuck("the raw consumer did not read its event"));
        }
        raw.push(committed.elapsed());
        tx.rollback().await?;
    }
    let _ = stop.send(());
    running.await.map_err(|_| BenchError::Stuck("worker task failed"))??;
    report.line(format!(
        "latency append→handler, idle worker, NOTIFY   p50 {:>9}  p99 {:>9}  max {:>9}  (raw NOTIFY + read p50 {}, p99 {}, max {})",
        human(ours.median()),
        human(ours.quantile(990)),
        human(ours.max()),
        human(raw.median()),
        human(raw.quantile(990)),
        human(raw.max()),
    ));
    report.line(format!(
        "latency, append in a transaction              p50 {:>9}  p99 {:>9}  max {:>9}",
        human(in_transaction.median()),
        human(in_transaction.quantile(990)),
        human(in_transaction.max()),
    ));
    report.case("latency append→handler vs raw NOTIFY + read", &ours, &raw, "raw");
    report.case("latency, in a transaction, vs raw NOTIFY + read", &in_transaction, &raw, "raw");
    Ok(())
}

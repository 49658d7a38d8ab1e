//! `scale`: the same work on a log of 1 M events and, after loading 9 M more, of 10 M: appends,
//! a stream load, consumer reads and a whole catch-up. The ratio is the rate at 10 M over the
//! rate at 1 M (1.00: cost does not grow with the log). Also the tables' size on disk per event.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use pupsourcing::{EventStore, LogQuery, StreamId, Versions};
use pupsourcing_postgres::{PgDatabase, PostgresStore};
use sqlx::Row;

use crate::append::{How, Target, concurrently, ours};
use crate::catchup::{BATCH, Partitioned, rate, worker_catchup};
use crate::stats::{Samples, human};
use crate::{BenchError, Report, load_events, load_more_events};

const SMALL: u64 = 1_000_000;
const LARGE: u64 = 10_000_000;
const ROUNDS: usize = 5;
const READS: usize = 200;

/// The rates measured at one log size.
struct AtSize {
    appends: f64,
    stream_loads: f64,
    consumer_reads: f64,
    catchup: f64,
}

/// Runs `read` once for each of `READS` samples, one after another; the time they took.
async fn timed<F, R>(mut read: F) -> Result<Duration, BenchError>
where
    F: FnMut(u64) -> R,
    R: Future<Output = Result<(), BenchError>>,
{
    let started = Instant::now();
    for n in 0..READS {
        read(u64::try_from(n).unwrap_or(0)).await?;
    }
    Ok(started.elapsed())
}

/// Stream loads of 100-event streams spread over the whole log.
async fn stream_loads(
    db: &PgDatabase,
    store: &PostgresStore,
    events: u64,
) -> Result<Duration, BenchError> {
    let streams = events / 100;
    timed(|n| async move {
        let stream = StreamId::new("load", ((n * 7919) % streams).to_string());
        let loaded = store.read_stream_committed(db, &stream, Versions::all()).await?;
        if loaded.events().len() != 100 {
            return Err(BenchError::Stuck("a stream load missed events"));
        }
        Ok(())
    })
    .await
}

/// Consumer reads of 500 events from positions spread over the whole log.
async fn consumer_reads(
    db: &PgDatabase,
    store: &PostgresStore,
    events: u64,
) -> Result<Duration, BenchError> {
    use pupsourcing::Database;
    timed(|n| async move {
        let after = (n * 104_729) % (events - 500);
        let mut tx = db.begin_read().await?;
        let read = store
            .read_events_until(&mut tx, &LogQuery::up_to(u64::MAX).after(after).limit(500))
            .await?;
        db.rollback(tx).await?;
        if read.len() != 500 {
            return Err(BenchError::Stuck("a consumer read came back short"));
        }
        Ok(())
    })
    .await
}

async fn measure(
    db: &PgDatabase,
    store: &PostgresStore,
    events: u64,
    consumer: &str,
) -> Result<AtSize, BenchError> {
    // The load leaves gigabytes of dirty buffers and WAL behind; measuring during the
    // checkpoint that writes them out would measure the disk, not the log's size.
    sqlx::query("CHECKPOINT").execute(db.pool()).await?;
    let (mut appends, mut loads, mut reads) =
        (Samples::default(), Samples::default(), Samples::default());
    for _ in 0..ROUNDS {
        appends.push(
            concurrently(8, || {
                let (db, store) = (db.clone(), store.clone());
                async move { ours(&db, &store, Target::NewStream, 50, 1, How::Transaction).await }
            })
            .await?,
        );
        loads.push(stream_loads(db, store, events).await?);
        reads.push(consumer_reads(db, store, events).await?);
    }
    let latest = store.advance_frontier().await?.latest_position;
    let backend = pupsourcing_postgres::from_store(store.clone());
    let handled = Arc::new(AtomicU64::new(0));
    let named =
        Partitioned { name: consumer.to_owned(), partitions: 1, handled: Arc::clone(&handled) };
    let elapsed =
        worker_catchup(&backend, Box::new(named), consumer, latest, BATCH, true).await?.total;
    if handled.load(Ordering::Relaxed) != latest {
        return Err(BenchError::Stuck("the catch-up did not see every event once"));
    }
    let per_second = |samples: &Samples, count: usize| {
        f64::from(u32::try_from(count).unwrap_or(u32::MAX)) / samples.median().as_secs_f64()
    };
    Ok(AtSize {
        appends: per_second(&appends, 8 * 50),
        stream_loads: per_second(&loads, READS),
        consumer_reads: per_second(&reads, READS),
        catchup: rate(latest, elapsed),
    })
}

/// Bytes on disk per event: the `events` table with its indexes and TOAST, and `stream_heads`.
async fn size_per_event(db: &PgDatabase, events: u64) -> Result<String, BenchError> {
    let row = sqlx::query(
        "SELECT pg_table_size('events'), pg_indexes_size('events'), \
         pg_total_relation_size('stream_heads')",
    )
    .fetch_one(db.pool())
    .await?;
    let events = i64::try_from(events).unwrap_or(i64::MAX).max(1);
    // Tenths of a byte per event, in integers (no float conversion to saturate).
    let per_event = |bytes: i64| {
        let tenths = bytes.saturating_mul(10) / events;
        format!("{}.{}", tenths / 10, tenths % 10)
    };
    let (table, indexes, heads): (i64, i64, i64) =
        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    Ok(format!(
        "{} B/event (table {}, indexes {}, stream heads {})",
        per_event(table + indexes + heads),
        per_event(table),
        per_event(indexes),
        per_event(heads),
    ))
}

pub(crate) async fn run(
    db: &PgDatabase,
    store: &PostgresStore,
    report: &mut Report,
) -> Result<(), BenchError> {
    println!("scale: loading {SMALL} events ...");
    load_events(db, SMALL).await?;
    let small = measure(db, store, SMALL, "scale-1m").await?;
    let small_size = size_per_event(db, SMALL).await?;
    println!("scale: loading {} more events ...", LARGE - SMALL);
    let started = Instant::now();
    load_more_events(db, SMALL, LARGE - SMALL).await?;
    println!("scale: loaded in {}", human(started.elapsed()));
    let large = measure(db, store, LARGE, "scale-10m").await?;
    let large_size = size_per_event(db, LARGE).await?;
    let cases = [
        ("append 1 event, new stream, 8 writers", small.appends, large.appends, "appends/s"),
        ("load a 100-event stream", small.stream_loads, large.stream_loads, "loads/s"),
        ("consumer read of 500 events", small.consumer_reads, large.consumer_reads, "reads/s"),
        ("catch-up, no-op consumer, whole log", small.catchup, large.catchup, "ev/s"),
    ];
    for (name, at_small, at_large, unit) in cases {
        report.rate_case(
            &format!("scale: {name}, 10 M vs 1 M"),
            at_large,
            at_small,
            unit,
            "raw = at 1 M",
        );
    }
    report.line(format!("scale: on disk at 1 M: {small_size}"));
    report.line(format!("scale: on disk at 10 M: {large_size}"));
    Ok(())
}

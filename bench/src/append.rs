//! `append`: appends through the store against raw INSERTs of the same rows into the same table.
//!
//! Every operation is one transaction (begin, write, durable commit). Single-event appends
//! (to a new stream, and to an existing stream with `Exact`) are compared with a raw single-row
//! INSERT, with 1 and 8 concurrent writers; 10- and 100-event appends with one raw multi-row
//! INSERT of the same rows. Rounds of the two sides alternate; the median round counts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use pupsourcing::{Database, Event, EventStore, ExpectedVersion, StreamId};
use pupsourcing_postgres::{PgDatabase, PostgresStore};
use tokio::sync::Barrier;
use uuid::Uuid;

use crate::stats::{Samples, human, raw_first};
use crate::{BenchError, Report, load_events};

const ROUNDS: usize = 9;

/// A payload of typical size: a small JSON document of about 200 bytes.
pub(crate) fn payload(i: usize) -> Vec<u8> {
    format!(
        "{{\"customer\":\"c-{i:08}\",\"items\":[{{\"sku\":\"A-100\",\"qty\":2}},{{\"sku\":\"B-220\",\"qty\":1}}],\
         \"total\":{{\"amount\":\"149.90\",\"currency\":\"EUR\"}},\"channel\":\"web\",\"note\":\"bench\"}}"
    )
    .into_bytes()
}

/// The same columns an append writes (the trace columns it leaves NULL are left out).
const RAW_ONE: &str = "INSERT INTO events (aggregate_type, aggregate_id, aggregate_version, stream_hash, \
     event_id, event_type, event_version, payload, metadata, created_at) \
     VALUES ('raw', $1, $2, 0, $3, $7, $8, $4, $5::text::json, $6)";

const RAW_MANY: &str = "INSERT INTO events (aggregate_type, aggregate_id, aggregate_version, stream_hash, \
     event_id, event_type, event_version, payload, metadata, created_at) \
     SELECT 'raw', $1, v, 0, id, t, tv, p, m::json, c \
     FROM unnest($2::bigint[], $3::uuid[], $4::bytea[], $5::text[], $6::timestamptz[], $7::text[], \
     $8::int4[]) AS u(v, id, p, m, c, t, tv)";

/// What one writer appends to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// A new stream per operation.
    NewStream,
    /// One stream per writer: created with `NoStream`, then appended to with `Exact`.
    Existing,
}

/// One writer's operations through the store, on any backend; returns when all are committed.
pub(crate) async fn ours<D: Database, S: EventStore<D>>(
    db: &D,
    store: &S,
    target: Target,
    ops: usize,
    batch: usize,
) -> Result<(), BenchError> {
    let home = StreamId::new("bench", Uuid::new_v4().to_string());
    let mut version = 0u64;
    for op in 0..ops {
        let (stream, expected) = match target {
            Target::NewStream => {
                (StreamId::new("bench", Uuid::new_v4().to_string()), ExpectedVersion::NoStream)
            }
            Target::Existing if version == 0 => (home.clone(), ExpectedVersion::NoStream),
            Target::Existing => (home.clone(), ExpectedVersion::Exact(version)),
        };
        let events =
            (0..batch).map(|i| Event::new(&stream, "Appended", payload(op * batch + i))).collect();
        let mut tx = db.begin().await?;
        store.append(&mut tx, expected, events).await?;
        db.commit(tx).await?;
        version += u64::try_from(batch).unwrap_or(0);
    }
    Ok(())
}

/// The same rows with plain SQL: one INSERT per transaction (multi-row for batches).
async fn raw(db: PgDatabase, target: Target, ops: usize, batch: usize) -> Result<(), BenchError> {
    let home = Uuid::new_v4().to_string();
    let mut version = 0i64;
    let metadata = serde_json::json!({}).to_string();
    for op in 0..ops {
        let stream = match target {
            Target::NewStream => {
                version = 0;
                Uuid::new_v4().to_string()
            }
            Target::Existing => home.clone(),
        };
        let mut tx = db.pool().begin().await?;
        if batch == 1 {
            sqlx::query(RAW_ONE)
                .bind(&stream)
                .bind(version + 1)
                .bind(Uuid::now_v7())
                .bind(payload(op))
                .bind(&metadata)
                .bind(Utc::now())
                .bind("Appended")
                .bind(1i32)
                .execute(&mut *tx)
                .await?;
        } else {
            let versions: Vec<i64> =
                (1..=i64::try_from(batch).unwrap_or(0)).map(|v| version + v).collect();
            sqlx::query(RAW_MANY)
                .bind(&stream)
                .bind(versions)
                .bind((0..batch).map(|_| Uuid::now_v7()).collect::<Vec<_>>())
                .bind((0..batch).map(|i| payload(op * batch + i)).collect::<Vec<_>>())
                .bind(vec![metadata.clone(); batch])
                .bind(vec![Utc::now(); batch])
                .bind(vec!["Appended"; batch])
                .bind(vec![1i32; batch])
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        version += i64::try_from(batch).unwrap_or(0);
    }
    Ok(())
}

/// Runs `writers` tasks made by `task`, released together; returns the wall time until the
/// last has finished.
pub(crate) async fn concurrently<F, Fut>(writers: usize, task: F) -> Result<Duration, BenchError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(), BenchError>> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(writers + 1));
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            let (work, barrier) = (task(), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                work.await
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

/// Runs `writers` concurrent writers of `ops` operations each; returns the wall time.
async fn round(
    db: &PgDatabase,
    store: Option<&PostgresStore>,
    target: Target,
    writers: usize,
    ops: usize,
    batch: usize,
) -> Result<Duration, BenchError> {
    concurrently(writers, || {
        let (db, store) = (db.clone(), store.cloned());
        async move {
            match store {
                Some(store) => ours(&db, &store, target, ops, batch).await,
                None => raw(db, target, ops, batch).await,
            }
        }
    })
    .await
}

/// The work of one case: `writers` tasks each doing `ops` appends of `batch` events.
#[derive(Clone, Copy)]
struct Shape {
    target: Target,
    writers: usize,
    ops: usize,
    batch: usize,
}

/// One case: interleaved rounds, reported as operations (and events) per second.
async fn case(
    db: &PgDatabase,
    store: &PostgresStore,
    name: &str,
    shape: Shape,
    report: &mut Report,
) -> Result<(), BenchError> {
    let Shape { target, writers, ops, batch } = shape;
    let (mut ours_rounds, mut raw_rounds) = (Samples::default(), Samples::default());
    for n in 0..ROUNDS {
        if raw_first(n) {
            raw_rounds.push(round(db, None, target, writers, ops, batch).await?);
        }
        ours_rounds.push(round(db, Some(store), target, writers, ops, batch).await?);
        if !raw_first(n) {
            raw_rounds.push(round(db, None, target, writers, ops, batch).await?);
        }
    }
    let total = u32::try_from(writers * ops).unwrap_or(u32::MAX);
    let per_op = |samples: &Samples| samples.median() / total;
    report.rate_case(
        name,
        f64::from(total) / ours_rounds.median().as_secs_f64(),
        f64::from(total) / raw_rounds.median().as_secs_f64(),
        "appends/s",
        &format!(
            "{} vs {} {}",
            human(per_op(&ours_rounds)),
            human(per_op(&raw_rounds)),
            if writers == 1 { "per append" } else { "of wall time per append" }
        ),
    );
    Ok(())
}

pub(crate) async fn run(
    db: &PgDatabase,
    store: &PostgresStore,
    report: &mut Report,
) -> Result<(), BenchError> {
    println!("append: durable commits, {ROUNDS} interleaved rounds per case, median round");
    // A store with history, analyzed, as in production (a table the planner has never seen
    // analyzed gets sequential scans for the duplicate-id check until autovacuum runs).
    load_events(db, 100_000).await?;
    // Warm the pool's connections and statement caches, and give the table some rows.
    round(db, Some(store), Target::NewStream, 8, 50, 1).await?;
    round(db, None, Target::NewStream, 8, 50, 1).await?;
    let shape = |target, writers, ops, batch| Shape { target, writers, ops, batch };
    let (new, existing) = (Target::NewStream, Target::Existing);
    let cases = [
        ("append 1 event, new stream, 1 writer vs raw single-row INSERT", shape(new, 1, 200, 1)),
        ("append 1 event, Exact, 1 writer vs raw single-row INSERT", shape(existing, 1, 200, 1)),
        ("append 1 event, new stream, 8 writers vs raw single-row INSERT", shape(new, 8, 100, 1)),
        ("append 1 event, Exact, 8 writers vs raw single-row INSERT", shape(existing, 8, 100, 1)),
        ("append 10 events, 1 writer vs raw multi-row INSERT", shape(existing, 1, 100, 10)),
        ("append 100 events, 1 writer vs raw multi-row INSERT", shape(existing, 1, 50, 100)),
    ];
    for (name, shape) in cases {
        case(db, store, name, shape, report).await?;
    }
    Ok(())
}

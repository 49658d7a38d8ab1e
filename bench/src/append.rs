//! `append`: appends through the store against raw INSERTs of the same rows.
//!
//! Every operation is one transaction with a durable commit. Single-event appends (to a new
//! stream, and to an existing stream with `Exact`) are compared with a raw single-row INSERT,
//! with 1 and 8 concurrent writers; 10- and 100-event appends with one raw multi-row INSERT of
//! the same rows. Each case has two raw baselines: the same rows in pupsourcing's own `events`
//! table (the schema's cost is on both sides) and in a minimal hand-written event table with
//! only the indexes an event store's contract needs (position, event id, stream and version),
//! so the schema's own cost shows. Appends inside a caller's transaction (BEGIN, append, COMMIT)
//! are compared with raw BEGIN/INSERT/COMMIT; `append_committed` with a raw autocommit INSERT.
//! Rounds of the sides alternate; the median round counts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use pupsourcing::{Database, Event, EventStore, ExpectedVersion, StreamId};
use pupsourcing_postgres::{PgDatabase, PostgresStore, PostgresStoreConfig};
use sqlx::postgres::PgPoolOptions;
use tokio::sync::Barrier;
use uuid::Uuid;

use crate::stats::{Samples, human};
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

/// A minimal event table, as the Rust peers use: a position, the stream and version (unique),
/// the event id (unique), the payload and a few columns; three indexes.
const MINIMAL_TABLE: &str = "CREATE TABLE IF NOT EXISTS minimal_events (\
     position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, stream_id text NOT NULL, \
     version bigint NOT NULL, event_id uuid NOT NULL UNIQUE, event_type text NOT NULL, \
     event_version int4 NOT NULL, payload bytea NOT NULL, metadata json NOT NULL, \
     created_at timestamptz NOT NULL, UNIQUE (stream_id, version))";

const MINIMAL_ONE: &str = "INSERT INTO minimal_events (stream_id, version, event_id, payload, \
     metadata, created_at, event_type, event_version) \
     VALUES ($1, $2, $3, $4, $5::text::json, $6, $7, $8)";

const MINIMAL_MANY: &str = "INSERT INTO minimal_events (stream_id, version, event_id, payload, \
     metadata, created_at, event_type, event_version) \
     SELECT $1, v, id, p, m::json, c, t, tv \
     FROM unnest($2::bigint[], $3::uuid[], $4::bytea[], $5::text[], $6::timestamptz[], $7::text[], \
     $8::int4[]) AS u(v, id, p, m, c, t, tv)";

/// How a store append runs: inside a transaction the caller opens and commits, or as
/// [`EventStore::append_committed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum How {
    Transaction,
    Committed,
}

/// The raw side of a case: which table, and whether in BEGIN/COMMIT or autocommit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Raw {
    SameSchema(How),
    Minimal(How),
}

impl Raw {
    fn name(self) -> &'static str {
        match self {
            Self::SameSchema(_) => "raw INSERT, same schema",
            Self::Minimal(_) => "raw INSERT, minimal table",
        }
    }
}

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
    how: How,
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
        match how {
            How::Transaction => {
                let mut tx = db.begin().await?;
                store.append(&mut tx, expected, events).await?;
                db.commit(tx).await?;
            }
            How::Committed => {
                store.append_committed(db, expected, events).await?;
            }
        }
        version += u64::try_from(batch).unwrap_or(0);
    }
    Ok(())
}

/// The same rows with plain SQL: one INSERT per operation (multi-row for batches), in
/// BEGIN/COMMIT or autocommit.
async fn raw(
    db: PgDatabase,
    side: Raw,
    target: Target,
    ops: usize,
    batch: usize,
) -> Result<(), BenchError> {
    let home = Uuid::new_v4().to_string();
    let mut version = 0i64;
    let metadata = serde_json::json!({}).to_string();
    let (one, many, how) = match side {
        Raw::SameSchema(how) => (RAW_ONE, RAW_MANY, how),
        Raw::Minimal(how) => (MINIMAL_ONE, MINIMAL_MANY, how),
    };
    for op in 0..ops {
        let stream = match target {
            Target::NewStream => {
                version = 0;
                Uuid::new_v4().to_string()
            }
            Target::Existing => home.clone(),
        };
        let query = if batch == 1 {
            sqlx::query(one)
                .bind(stream)
                .bind(version + 1)
                .bind(Uuid::now_v7())
                .bind(payload(op))
                .bind(&metadata)
                .bind(Utc::now())
                .bind("Appended")
                .bind(1i32)
        } else {
            let versions: Vec<i64> =
                (1..=i64::try_from(batch).unwrap_or(0)).map(|v| version + v).collect();
            sqlx::query(many)
                .bind(stream)
                .bind(versions)
                .bind((0..batch).map(|_| Uuid::now_v7()).collect::<Vec<_>>())
                .bind((0..batch).map(|i| payload(op * batch + i)).collect::<Vec<_>>())
                .bind(vec![metadata.clone(); batch])
                .bind(vec![Utc::now(); batch])
                .bind(vec!["Appended"; batch])
                .bind(vec![1i32; batch])
        };
        match how {
            How::Transaction => {
                let mut tx = db.pool().begin().await?;
                query.execute(&mut *tx).await?;
                tx.commit().await?;
            }
            How::Committed => {
                query.execute(db.pool()).await?;
            }
        }
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

/// One side of a case: the store (appending as `How` says) or a raw baseline.
#[derive(Debug, Clone, Copy)]
enum Side {
    Ours(How),
    Raw(Raw),
}

/// Runs `writers` concurrent writers of `ops` operations each; returns the wall time.
async fn round(
    db: &PgDatabase,
    store: &PostgresStore,
    side: Side,
    shape: Shape,
) -> Result<Duration, BenchError> {
    let Shape { target, writers, ops, batch, .. } = shape;
    concurrently(writers, || {
        let (db, store) = (db.clone(), store.clone());
        async move {
            match side {
                Side::Ours(how) => ours(&db, &store, target, ops, batch, how).await,
                Side::Raw(raw_side) => raw(db, raw_side, target, ops, batch).await,
            }
        }
    })
    .await
}

/// The work of one case: `writers` tasks each doing `ops` appends of `batch` events, `how`.
#[derive(Clone, Copy)]
struct Shape {
    target: Target,
    writers: usize,
    ops: usize,
    batch: usize,
    how: How,
}

/// One case: interleaved rounds of the store and both raw baselines (run the same way, in a
/// transaction or autocommit), reported as operations per second against each.
async fn case(
    db: &PgDatabase,
    store: &PostgresStore,
    name: &str,
    shape: Shape,
    report: &mut Report,
) -> Result<(), BenchError> {
    let raws = [Raw::SameSchema(shape.how), Raw::Minimal(shape.how)];
    let sides = [Side::Ours(shape.how), Side::Raw(raws[0]), Side::Raw(raws[1])];
    let mut samples = vec![Samples::default(); sides.len()];
    for n in 0..ROUNDS {
        // Each round starts with another side, so none always runs right after another's writes.
        for k in 0..sides.len() {
            let index = (n + k) % sides.len();
            samples[index].push(round(db, store, sides[index], shape).await?);
        }
    }
    let total = u32::try_from(shape.writers * shape.ops).unwrap_or(u32::MAX);
    let per_op = |samples: &Samples| samples.median() / total;
    for (raw_side, raw_samples) in raws.iter().zip(&samples[1..]) {
        report.rate_case(
            &format!("{name} vs {}", raw_side.name()),
            f64::from(total) / samples[0].median().as_secs_f64(),
            f64::from(total) / raw_samples.median().as_secs_f64(),
            "appends/s",
            &format!(
                "{} vs {} {}",
                human(per_op(&samples[0])),
                human(per_op(raw_samples)),
                if shape.writers == 1 { "per append" } else { "of wall time per append" }
            ),
        );
    }
    Ok(())
}

pub(crate) async fn run(
    db: &PgDatabase,
    store: &PostgresStore,
    report: &mut Report,
) -> Result<(), BenchError> {
    println!("append: durable commits, {ROUNDS} interleaved rounds per case, median round");
    // A store with history, analyzed, as in production (a table the planner has never seen
    // analyzed gets sequential scans for the duplicate-id check until autovacuum runs). The
    // minimal table gets as many rows.
    load_events(db, 100_000).await?;
    sqlx::query(MINIMAL_TABLE).execute(db.pool()).await?;
    sqlx::query(
        "INSERT INTO minimal_events (stream_id, version, event_id, event_type, event_version, \
         payload, metadata, created_at) \
         SELECT (g / 100)::text, g % 100 + 1, gen_random_uuid(), 'Loaded', 1, '\\x7b7d'::bytea, \
         '{}'::json, now() FROM generate_series(0, 99999) AS g",
    )
    .execute(db.pool())
    .await?;
    sqlx::query("VACUUM ANALYZE minimal_events").execute(db.pool()).await?;
    let shape = |target, writers, ops, batch, how| Shape { target, writers, ops, batch, how };
    let (new, existing) = (Target::NewStream, Target::Existing);
    let (tx, committed) = (How::Transaction, How::Committed);
    // Warm the pool's connections and statement caches, and give the tables some rows.
    for side in [Side::Ours(tx), Side::Ours(committed), Side::Raw(Raw::SameSchema(tx))] {
        round(db, store, side, shape(new, 8, 50, 1, tx)).await?;
    }
    round(db, store, Side::Raw(Raw::Minimal(tx)), shape(new, 8, 50, 1, tx)).await?;
    let cases = [
        ("append 1 event, new stream, 1 writer", shape(new, 1, 200, 1, tx)),
        ("append 1 event, Exact, 1 writer", shape(existing, 1, 200, 1, tx)),
        ("append 1 event, new stream, 8 writers", shape(new, 8, 100, 1, tx)),
        ("append 1 event, Exact, 8 writers", shape(existing, 8, 100, 1, tx)),
        ("append 10 events, 1 writer", shape(existing, 1, 100, 10, tx)),
        ("append 100 events, 1 writer", shape(existing, 1, 50, 100, tx)),
        ("append_committed 1 event, new stream, 1 writer", shape(new, 1, 200, 1, committed)),
        ("append_committed 1 event, Exact, 1 writer", shape(existing, 1, 200, 1, committed)),
        ("append_committed 1 event, new stream, 8 writers", shape(new, 8, 100, 1, committed)),
        ("append_committed 1 event, Exact, 8 writers", shape(existing, 8, 100, 1, committed)),
    ];
    for (name, shape) in cases {
        case(db, store, name, shape, report).await?;
    }
    // A transaction that ran NOTIFY takes a database-wide lock at commit (notifications are
    // queued in commit order), held through its WAL flush: concurrent notifying commits cannot
    // share a flush. The same appends without NOTIFY show what that costs.
    let silent = PostgresStore::with_config(db, PostgresStoreConfig::default().without_notify());
    for (name, shape) in [
        ("no NOTIFY: append 1 event, new stream, 1 writer", shape(new, 1, 200, 1, tx)),
        ("no NOTIFY: append 1 event, new stream, 8 writers", shape(new, 8, 100, 1, tx)),
        ("no NOTIFY: append 1 event, Exact, 8 writers", shape(existing, 8, 100, 1, tx)),
        (
            "no NOTIFY: append_committed 1 event, new stream, 8 writers",
            shape(new, 8, 100, 1, committed),
        ),
    ] {
        case(db, &silent, name, shape, report).await?;
    }
    // sqlx pings a connection before handing it out of the pool (`test_before_acquire`, on by
    // default): one round trip more per transaction or autocommit statement, on both sides.
    let unpinged = PgDatabase::new(
        PgPoolOptions::new()
            .max_connections(32)
            .test_before_acquire(false)
            .connect_with((*db.pool().connect_options()).clone())
            .await?,
    );
    let unpinged_store = PostgresStore::new(&unpinged);
    for (name, shape) in [
        ("no ping: append 1 event, new stream, 1 writer", shape(new, 1, 200, 1, tx)),
        ("no ping: append 1 event, new stream, 8 writers", shape(new, 8, 100, 1, tx)),
        (
            "no ping: append_committed 1 event, new stream, 1 writer",
            shape(new, 1, 200, 1, committed),
        ),
    ] {
        case(&unpinged, &unpinged_store, name, shape, report).await?;
    }
    Ok(())
}

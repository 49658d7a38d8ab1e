//! The `append` and `read` cases on SQLite (a database file, `synchronous = FULL`, WAL), against
//! rusqlite used directly on a connection of its own: prepared statements, no thread hops; and,
//! with the `sqlite` case, the default blocking pool against `SqliteOptions::calls_in_place`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use pupsourcing::{Database, EventStore, StreamId, Versions};
use pupsourcing_sqlite::{SqliteDatabase, SqliteOptions, SqliteStore};
use rusqlite::{Connection, params};
use uuid::Uuid;

use crate::append::{How, Target, ours, payload};
use crate::stats::{Samples, raw_first, spread};
use crate::{BenchError, Report};

const ROUNDS: usize = 5;
const LOADED: u64 = 100_000;

impl From<rusqlite::Error> for BenchError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Sqlite(err)
    }
}

const RAW_INSERT: &str = "INSERT INTO events (bounded_context, aggregate_type, aggregate_id, \
     aggregate_version, event_id, event_type, event_version, payload, metadata, created_at, \
     stream_hash) VALUES ('', 'raw', ?1, ?2, ?3, 'Appended', 1, ?4, '{}', ?5, 0)";

const RAW_STREAM: &str = "SELECT global_position, aggregate_version, bounded_context, aggregate_type, \
     aggregate_id, event_id, event_type, event_version, payload, metadata, created_at, trace_id, \
     correlation_id, causation_id FROM events WHERE bounded_context = '' AND aggregate_type = ?1 \
     AND aggregate_id = ?2 ORDER BY aggregate_version";

const RAW_GLOBAL: &str = "SELECT global_position, aggregate_version, bounded_context, aggregate_type, \
     aggregate_id, event_id, event_type, event_version, payload, metadata, created_at, trace_id, \
     correlation_id, causation_id FROM events WHERE global_position > ?1 \
     ORDER BY global_position LIMIT ?2";

fn raw_connection(path: &Path) -> Result<Connection, BenchError> {
    let conn = Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;",
    )?;
    Ok(conn)
}

fn now_text() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Decodes every column of an event row, as the store does.
fn decode(row: &rusqlite::Row<'_>) -> rusqlite::Result<()> {
    let _: (i64, i64, String, String, String, String, String, i64) = (
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
    );
    let _: (Vec<u8>, String, String, Option<String>, Option<String>, Option<String>) =
        (row.get(8)?, row.get(9)?, row.get(10)?, row.get(11)?, row.get(12)?, row.get(13)?);
    Ok(())
}

/// `ops` raw appends of `batch` rows, each in a `BEGIN IMMEDIATE` transaction (or, with `How::
/// Committed` and one row, a single autocommit INSERT); wall time.
fn raw_appends(
    path: &Path,
    target: Target,
    ops: usize,
    batch: usize,
    how: How,
) -> Result<Duration, BenchError> {
    let explicit = how == How::Transaction || batch > 1;
    let conn = raw_connection(path)?;
    let home = Uuid::new_v4().to_string();
    let started = Instant::now();
    let mut version = 0i64;
    for op in 0..ops {
        let stream = if target == Target::NewStream {
            version = 0;
            Uuid::new_v4().to_string()
        } else {
            home.clone()
        };
        if explicit {
            conn.execute_batch("BEGIN IMMEDIATE")?;
        }
        {
            let mut insert = conn.prepare_cached(RAW_INSERT)?;
            for i in 0..batch {
                version += 1;
                insert.execute(params![
                    stream,
                    version,
                    Uuid::now_v7().to_string(),
                    payload(op * batch + i),
                    now_text()
                ])?;
            }
        }
        if explicit {
            conn.execute_batch("COMMIT")?;
        }
    }
    Ok(started.elapsed())
}

async fn our_appends(
    db: &SqliteDatabase,
    store: &SqliteStore,
    target: Target,
    ops: usize,
    batch: usize,
    how: How,
) -> Result<Duration, BenchError> {
    let started = Instant::now();
    ours(db, store, target, ops, batch, how).await?;
    Ok(started.elapsed())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BenchError> + Send + 'static,
) -> Result<T, BenchError> {
    tokio::task::spawn_blocking(f).await.map_err(|_| BenchError::Stuck("a blocking task failed"))?
}

async fn append_cases(
    db: &SqliteDatabase,
    store: &SqliteStore,
    path: &Path,
    report: &mut Report,
) -> Result<(), BenchError> {
    let (new, existing, tx, committed) =
        (Target::NewStream, Target::Existing, How::Transaction, How::Committed);
    for (name, target, ops, batch, how) in [
        ("sqlite: append 1 event, new stream vs raw single-row INSERT", new, 200, 1, tx),
        ("sqlite: append 1 event, Exact vs raw single-row INSERT", existing, 200, 1, tx),
        ("sqlite: append 100 events vs raw INSERT of 100 rows", existing, 50, 100, tx),
        (
            "sqlite: append_committed 1 event, new stream vs raw autocommit INSERT",
            new,
            200,
            1,
            committed,
        ),
        (
            "sqlite: append_committed 1 event, Exact vs raw autocommit INSERT",
            existing,
            200,
            1,
            committed,
        ),
        (
            "sqlite: append_committed 100 events vs raw INSERT of 100 rows",
            existing,
            50,
            100,
            committed,
        ),
    ] {
        let (mut ours, mut raw) = (Samples::default(), Samples::default());
        for round in 0..ROUNDS {
            let path: PathBuf = path.to_path_buf();
            let raw_round = blocking(move || raw_appends(&path, target, ops, batch, how));
            if raw_first(round) {
                raw.push(raw_round.await?);
                ours.push(our_appends(db, store, target, ops, batch, how).await?);
            } else {
                ours.push(our_appends(db, store, target, ops, batch, how).await?);
                raw.push(raw_round.await?);
            }
        }
        let ops32 = u32::try_from(ops).unwrap_or(u32::MAX);
        let rate = |samples: &Samples| f64::from(ops32) / samples.median().as_secs_f64();
        report.rate_case(
            name,
            rate(&ours),
            rate(&raw),
            "appends/s",
            &format!(
                "{} vs {} per append",
                crate::stats::human(ours.median() / ops32),
                crate::stats::human(raw.median() / ops32)
            ),
        );
    }
    Ok(())
}

fn load(path: &Path) -> Result<(), BenchError> {
    let conn = raw_connection(path)?;
    conn.execute_batch("BEGIN IMMEDIATE")?;
    {
        let mut insert = conn.prepare_cached(
            "INSERT INTO events (bounded_context, aggregate_type, aggregate_id, aggregate_version, \
             event_id, event_type, event_version, payload, metadata, created_at, stream_hash) \
             VALUES ('', 'load', ?1, ?2, ?3, 'Loaded', 1, ?4, '{}', ?5, 0)",
        )?;
        let at = now_text();
        for g in 0..LOADED {
            let id = i64::try_from(g / 100).unwrap_or(0);
            let version = i64::try_from(g % 100 + 1).unwrap_or(0);
            insert.execute(params![
                id.to_string(),
                version,
                Uuid::new_v4().to_string(),
                b"{}".as_slice(),
                at
            ])?;
        }
    }
    conn.execute_batch("COMMIT; ANALYZE")?;
    Ok(())
}

/// `reads` raw reads (of a stream, or of 500 events of the log) in one transaction, or each on
/// its own in autocommit with `How::Committed`.
fn raw_reads(path: &Path, read: Read, reads: usize) -> Result<Samples, BenchError> {
    let stream = read != Read::Log;
    let explicit = read != Read::StreamCommitted;
    let conn = raw_connection(path)?;
    let mut samples = Samples::default();
    if explicit {
        conn.execute_batch("BEGIN")?;
    }
    for i in 0..reads {
        let started = Instant::now();
        let mut select = conn.prepare_cached(if stream { RAW_STREAM } else { RAW_GLOBAL })?;
        let mut rows = if stream {
            select.query(params!["load", spread(i, LOADED / 100).to_string()])?
        } else {
            select.query(params![i64::try_from(spread(i, LOADED - 500)).unwrap_or(0), 500])?
        };
        while let Some(row) = rows.next()? {
            decode(row)?;
        }
        samples.push(started.elapsed());
    }
    if explicit {
        conn.execute_batch("COMMIT")?;
    }
    Ok(samples)
}

/// What a read case reads: a 100-event stream in a read transaction or without one
/// (`read_stream_committed`), or 500 events of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    Stream,
    StreamCommitted,
    /// Each load in a read transaction of its own: what a caller without a transaction would
    /// do without `read_stream_committed`.
    StreamOwnTransaction,
    Log,
}

async fn our_reads(
    db: &SqliteDatabase,
    store: &SqliteStore,
    read: Read,
    reads: usize,
    samples: &mut Samples,
) -> Result<(), BenchError> {
    let mut tx = db.begin_read().await?;
    for i in 0..reads {
        let started = Instant::now();
        let id = StreamId::new("load", spread(i, LOADED / 100).to_string());
        let count = match read {
            Read::Stream => store.read_stream(&mut tx, &id, Versions::all()).await?.len(),
            Read::StreamCommitted => {
                store.read_stream_committed(db, &id, Versions::all()).await?.len()
            }
            Read::StreamOwnTransaction => {
                let mut own = db.begin_read().await?;
                let read = store.read_stream(&mut own, &id, Versions::all()).await?.len();
                db.rollback(own).await?;
                read
            }
            Read::Log => store.read_events(&mut tx, spread(i, LOADED - 500), 500).await?.len(),
        };
        samples.push(started.elapsed());
        if count != if read == Read::Log { 500 } else { 100 } {
            return Err(BenchError::Stuck("a read returned the wrong number of events"));
        }
    }
    db.rollback(tx).await?;
    Ok(())
}

async fn read_cases(
    db: &SqliteDatabase,
    store: &SqliteStore,
    path: &Path,
    report: &mut Report,
) -> Result<(), BenchError> {
    let loaded = path.to_path_buf();
    blocking(move || load(&loaded)).await?;
    for (name, read) in [
        ("sqlite: read stream of 100 events vs raw SELECT", Read::Stream),
        (
            "sqlite: read_stream_committed 100 events vs raw autocommit SELECT",
            Read::StreamCommitted,
        ),
        ("sqlite: read_events 500 after a position vs raw SELECT", Read::Log),
    ] {
        let (mut ours, mut raw) = (Samples::default(), Samples::default());
        for round in 0..ROUNDS {
            let path = path.to_path_buf();
            let raw_round = blocking(move || raw_reads(&path, read, 200));
            if raw_first(round) {
                raw.extend(raw_round.await?);
                our_reads(db, store, read, 200, &mut ours).await?;
            } else {
                our_reads(db, store, read, 200, &mut ours).await?;
                raw.extend(raw_round.await?);
            }
        }
        report.case(name, &ours, &raw, "raw");
    }
    let (mut committed, mut own) = (Samples::default(), Samples::default());
    for round in 0..ROUNDS {
        if raw_first(round) {
            our_reads(db, store, Read::StreamOwnTransaction, 200, &mut own).await?;
            our_reads(db, store, Read::StreamCommitted, 200, &mut committed).await?;
        } else {
            our_reads(db, store, Read::StreamCommitted, 200, &mut committed).await?;
            our_reads(db, store, Read::StreamOwnTransaction, 200, &mut own).await?;
        }
    }
    report.case(
        "sqlite: read_stream_committed 100 events vs a read transaction of its own",
        &committed,
        &own,
        "begin_read + read_stream + rollback",
    );
    Ok(())
}

/// One round from a spawned task (on a runtime worker, where a call in place hands the worker's
/// other tasks to another thread): 200 single-event `Exact` appends in transactions, or 200
/// loads of a 100-event stream with `read_stream_committed`.
async fn placement_round(
    db: &SqliteDatabase,
    store: &SqliteStore,
    append: bool,
) -> Result<Duration, BenchError> {
    let (db, store) = (db.clone(), store.clone());
    let task = tokio::spawn(async move {
        let started = Instant::now();
        if append {
            ours(&db, &store, Target::Existing, 200, 1, How::Transaction).await?;
        } else {
            for _ in 0..200 {
                let stream = StreamId::new("placed", "read");
                if store.read_stream_committed(&db, &stream, Versions::all()).await?.len() != 100 {
                    return Err(BenchError::Stuck("a read returned the wrong number of events"));
                }
            }
        }
        Ok(started.elapsed())
    });
    task.await.map_err(|_| BenchError::Stuck("a bench task failed"))?
}

/// The same appends and loads with calls on the blocking pool (the default) and in place
/// (`SqliteOptions::calls_in_place`), each on a file of its own, from spawned tasks.
async fn placement_cases(dir: &Path, report: &mut Report) -> Result<(), BenchError> {
    let mut sides = Vec::new();
    for (name, in_place) in [("pool.sqlite3", false), ("in-place.sqlite3", true)] {
        let options = SqliteOptions::new(dir.join(name)).calls_in_place(in_place);
        let db = SqliteDatabase::open_with(options).await?;
        let store = SqliteStore::new(&db);
        store.migrate().await?;
        let stream = StreamId::new("placed", "read");
        let events = (0..100).map(|i| pupsourcing::Event::new(&stream, "Loaded", payload(i)));
        store
            .append_committed(&db, pupsourcing::ExpectedVersion::NoStream, events.collect())
            .await?;
        sides.push((db, store));
    }
    for (name, append) in [
        ("sqlite, from a task: append 1 event, Exact, in a transaction", true),
        ("sqlite, from a task: read_stream_committed 100 events", false),
    ] {
        let (mut pool, mut place) = (Samples::default(), Samples::default());
        for round in 0..ROUNDS {
            if raw_first(round) {
                pool.push(placement_round(&sides[0].0, &sides[0].1, append).await?);
                place.push(placement_round(&sides[1].0, &sides[1].1, append).await?);
            } else {
                place.push(placement_round(&sides[1].0, &sides[1].1, append).await?);
                pool.push(placement_round(&sides[0].0, &sides[0].1, append).await?);
            }
        }
        report.case(&format!("{name}, calls in place"), &place, &pool, "on the blocking pool");
    }
    Ok(())
}

/// Runs the SQLite cases on a fresh database file in the temporary directory.
pub(crate) async fn run(report: &mut Report, append: bool, read: bool) -> Result<(), BenchError> {
    let dir = std::env::temp_dir().join(format!("pupsourcing-bench-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)
        .map_err(|_| BenchError::Stuck("cannot create a temporary directory"))?;
    let path = dir.join("bench.sqlite3");
    let db = SqliteDatabase::open(&path).await?;
    let store = SqliteStore::new(&db);
    store.migrate().await?;
    println!("sqlite: {} (synchronous = FULL, WAL)", path.display());
    let outcome = async {
        if append {
            append_cases(&db, &store, &path, report).await?;
        }
        if read {
            read_cases(&db, &store, &path, report).await?;
        }
        if append && read {
            placement_cases(&dir, report).await?;
        }
        Ok::<(), BenchError>(())
    }
    .await;
    drop((store, db));
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

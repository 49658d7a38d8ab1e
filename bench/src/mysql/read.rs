//! Stream reads, global-log reads and consumer reads through the MySQL store, against the same
//! SELECTs in plain SQL decoding every column, on one loaded log.

use std::sync::Arc;
use std::time::Instant;

use pupsourcing::{Database, Event, EventStore, ExpectedVersion, StreamId};
use pupsourcing_mysql::{MysqlDatabase, MysqlStore};
use sqlx::Row;
use sqlx::mysql::MySqlRow;
use tokio::sync::Semaphore;

use crate::append::payload;
use crate::read::{READS, Read, ours};
use crate::stats::{Samples, raw_first, spread};
use crate::{BenchError, Report};

/// Events in the loaded log: 100 per stream.
pub(super) const EVENTS: u64 = 100_000;
const ROUNDS: usize = 5;

const COLUMNS: &str = "global_position, aggregate_version, bounded_context, aggregate_type, \
     aggregate_id, event_id, event_type, event_version, payload, metadata, created_at, trace_id, \
     correlation_id, causation_id";

/// Loads `EVENTS` events in 100-event appends to streams `load/<n>`, four writers at a time.
pub(super) async fn load(db: &MysqlDatabase, store: &MysqlStore) -> Result<(), BenchError> {
    let writers = Arc::new(Semaphore::new(4));
    let mut tasks = Vec::new();
    for n in 0..EVENTS / 100 {
        let (db, store) = (db.clone(), store.clone());
        let permit = Arc::clone(&writers).acquire_owned().await;
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            let stream = StreamId::new("load", n.to_string());
            let events = (0..100).map(|i| Event::new(&stream, "Loaded", payload(i))).collect();
            let mut tx = db.begin().await?;
            store.append(&mut tx, ExpectedVersion::NoStream, events).await?;
            db.commit(tx).await?;
            Ok::<_, BenchError>(())
        }));
    }
    for task in tasks {
        task.await.map_err(|_| BenchError::Stuck("a loading task failed"))??;
    }
    store.advance_frontier().await?;
    Ok(())
}

/// Decodes every column, as the store does.
pub(super) fn decode_all(row: &MySqlRow) -> Result<(), BenchError> {
    let text = |index: usize| -> Result<String, BenchError> {
        String::from_utf8(row.try_get(index)?).map_err(|_| BenchError::Stuck("a name not UTF-8"))
    };
    let _: (i64, i64, String, String, String) =
        (row.try_get(0)?, row.try_get(1)?, text(2)?, text(3)?, text(4)?);
    let id: Vec<u8> = row.try_get(5)?;
    uuid::Uuid::from_slice(&id).map_err(|_| BenchError::Stuck("an event id not 16 bytes"))?;
    let _: (String, i32, Vec<u8>) = (text(6)?, row.try_get(7)?, row.try_get(8)?);
    let metadata: String = row.try_get(9)?;
    serde_json::from_str::<serde_json::Value>(&metadata)
        .map_err(|_| BenchError::Stuck("metadata not JSON"))?;
    let _: chrono::NaiveDateTime = row.try_get(10)?;
    let _: (Option<String>, Option<String>, Option<String>) =
        (row.try_get(11)?, row.try_get(12)?, row.try_get(13)?);
    Ok(())
}

/// The raw global read of `limit` rows after a position, in table `events`.
pub(super) fn raw_global(events: &str) -> String {
    format!(
        "SELECT {COLUMNS} FROM {events} WHERE global_position > ? ORDER BY global_position LIMIT ?"
    )
}

async fn raw(
    db: &MysqlDatabase,
    events: &str,
    read: Read,
    samples: &mut Samples,
) -> Result<(), BenchError> {
    let stream_sql = format!(
        "SELECT {COLUMNS} FROM {events} WHERE bounded_context = '' AND aggregate_type = ? \
         AND aggregate_id = ? ORDER BY aggregate_version"
    );
    let global_sql = raw_global(events);
    let mut tx = db.pool().begin().await?;
    for i in 0..READS {
        let started = Instant::now();
        let rows = match read {
            Read::Stream | Read::StreamCommitted | Read::StreamInReadTransaction => {
                let select = sqlx::query(sqlx::AssertSqlSafe(stream_sql.clone()))
                    .bind("load".as_bytes())
                    .bind(spread(i, EVENTS / 100).to_string().into_bytes());
                if read.is_load() {
                    select.fetch_all(db.pool()).await?
                } else {
                    select.fetch_all(&mut *tx).await?
                }
            }
            Read::Global | Read::GlobalUntil => {
                sqlx::query(sqlx::AssertSqlSafe(global_sql.clone()))
                    .bind(i64::try_from(spread(i, EVENTS - 500)).unwrap_or(0))
                    .bind(500i64)
                    .fetch_all(&mut *tx)
                    .await?
            }
        };
        for row in &rows {
            decode_all(row)?;
        }
        samples.push(started.elapsed());
        if rows.len() != read.expected() {
            return Err(BenchError::Stuck("a raw read returned the wrong number of rows"));
        }
    }
    tx.rollback().await?;
    Ok(())
}

/// The read cases on `store`, whose events table is `events`.
pub(super) async fn run(
    report: &mut Report,
    db: &MysqlDatabase,
    store: &MysqlStore,
    events: &str,
) -> Result<(), BenchError> {
    println!("mysql read: loading {EVENTS} events (100 per stream) ...");
    load(db, store).await?;
    println!("mysql read: {ROUNDS} interleaved rounds of {READS} reads per case, per-read latency");
    for (read, name) in [
        (Read::Stream, "mysql: read stream of 100 events vs raw SELECT"),
        (Read::StreamCommitted, "mysql: load stream, read_stream_committed vs raw SELECT"),
        (Read::StreamInReadTransaction, "mysql: load stream in a read tx vs raw SELECT"),
        (Read::Global, "mysql: read_events 500 after a position vs raw"),
        (Read::GlobalUntil, "mysql: read_events_until 500 (consumer read) vs raw"),
    ] {
        let (mut ours_samples, mut raw_samples) = (Samples::default(), Samples::default());
        for round in 0..ROUNDS {
            if raw_first(round) {
                raw(db, events, read, &mut raw_samples).await?;
            }
            ours(db, store, EVENTS, read, &mut ours_samples).await?;
            if !raw_first(round) {
                raw(db, events, read, &mut raw_samples).await?;
            }
        }
        report.case(name, &ours_samples, &raw_samples, "raw");
    }
    Ok(())
}

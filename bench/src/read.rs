//! `read`: stream reads and global-log reads through the store, against the same SELECTs in
//! plain SQL decoding every column, on one loaded log.

use std::time::Instant;

use pupsourcing::{Database, EventStore, LogQuery, StreamId, Versions};
use pupsourcing_postgres::{PgDatabase, PostgresStore};

use crate::catchup::decode_all;
use crate::stats::{Samples, raw_first, spread};
use crate::{BenchError, Report, load_events};

/// Events in the loaded log: 100 per stream.
const EVENTS: u64 = 200_000;
const ROUNDS: usize = 5;
pub(crate) const READS: usize = 200;

const RAW_STREAM: &str = "SELECT global_position, aggregate_version, bounded_context, aggregate_type, \
     aggregate_id, event_id, event_type, event_version, payload, metadata, created_at, trace_id, \
     correlation_id, causation_id FROM events WHERE bounded_context = '' AND aggregate_type = $1 \
     AND aggregate_id = $2 ORDER BY aggregate_version";

const RAW_GLOBAL: &str = "SELECT global_position, aggregate_version, bounded_context, aggregate_type, \
     aggregate_id, event_id, event_type, event_version, payload, metadata, created_at, trace_id, \
     correlation_id, causation_id FROM events WHERE global_position > $1 \
     ORDER BY global_position LIMIT $2";

/// What a read case reads: 100-event streams `load/<n>`, or 500 events of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Read {
    /// `read_stream` in a read transaction held across the reads.
    Stream,
    /// Loading a stream with no caller transaction: `read_stream_committed`.
    StreamCommitted,
    /// Loading a stream in a read transaction of its own: begin, `read_stream`, rollback.
    StreamInReadTransaction,
    Global,
    GlobalUntil,
}

impl Read {
    pub(crate) fn expected(self) -> usize {
        if self.is_stream() { 100 } else { 500 }
    }

    pub(crate) fn is_stream(self) -> bool {
        matches!(self, Self::Stream | Self::StreamCommitted | Self::StreamInReadTransaction)
    }

    /// Whether each read is a load of its own, compared with one raw SELECT on the pool.
    pub(crate) fn is_load(self) -> bool {
        matches!(self, Self::StreamCommitted | Self::StreamInReadTransaction)
    }
}

/// `READS` reads through the store, on any backend, from a log of `events` events.
pub(crate) async fn ours<D: Database, S: EventStore<D>>(
    db: &D,
    store: &S,
    events: u64,
    read: Read,
    samples: &mut Samples,
) -> Result<(), BenchError> {
    let mut tx = db.begin_read().await?;
    let frontier = store.safe_frontier(&mut tx).await?;
    for i in 0..READS {
        let started = Instant::now();
        let stream = StreamId::new("load", spread(i, events / 100).to_string());
        let count = match read {
            Read::Stream => store.read_stream(&mut tx, &stream, Versions::all()).await?.len(),
            Read::StreamCommitted => {
                store.read_stream_committed(db, &stream, Versions::all()).await?.len()
            }
            Read::StreamInReadTransaction => {
                let mut own = db.begin_read().await?;
                let read = store.read_stream(&mut own, &stream, Versions::all()).await?;
                db.rollback(own).await?;
                read.len()
            }
            Read::Global => store.read_events(&mut tx, spread(i, events - 500), 500).await?.len(),
            Read::GlobalUntil => {
                let after = spread(i, events - 500);
                let query = LogQuery::up_to(frontier).after(after).limit(500);
                store.read_events_until(&mut tx, &query).await?.len()
            }
        };
        samples.push(started.elapsed());
        if count != read.expected() {
            return Err(BenchError::Stuck("a read returned the wrong number of events"));
        }
    }
    db.rollback(tx).await?;
    Ok(())
}

async fn raw(db: &PgDatabase, read: Read, samples: &mut Samples) -> Result<(), BenchError> {
    let mut tx = db.pool().begin().await?;
    for i in 0..READS {
        let started = Instant::now();
        let rows = match read {
            Read::Stream | Read::StreamCommitted | Read::StreamInReadTransaction => {
                let select =
                    sqlx::query(RAW_STREAM).bind("load").bind(spread(i, EVENTS / 100).to_string());
                if read.is_load() {
                    select.fetch_all(db.pool()).await?
                } else {
                    select.fetch_all(&mut *tx).await?
                }
            }
            Read::Global | Read::GlobalUntil => {
                sqlx::query(RAW_GLOBAL)
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
    }
    tx.rollback().await?;
    Ok(())
}

pub(crate) async fn run(
    db: &PgDatabase,
    store: &PostgresStore,
    report: &mut Report,
) -> Result<(), BenchError> {
    println!("read: loading {EVENTS} events (100 per stream) ...");
    load_events(db, EVENTS).await?;
    store.advance_frontier().await?;
    println!("read: {ROUNDS} interleaved rounds of {READS} reads per case, per-read latency");
    for (read, name) in [
        (Read::Stream, "read stream of 100 events vs raw SELECT"),
        (Read::StreamCommitted, "load stream, read_stream_committed vs raw SELECT on the pool"),
        (Read::StreamInReadTransaction, "load stream in a read tx vs raw SELECT on the pool"),
        (Read::Global, "read_events 500 after a position vs raw SELECT"),
        (Read::GlobalUntil, "read_events_until 500 (consumer read) vs raw SELECT"),
    ] {
        let (mut ours_samples, mut raw_samples) = (Samples::default(), Samples::default());
        for round in 0..ROUNDS {
            if raw_first(round) {
                raw(db, read, &mut raw_samples).await?;
            }
            ours(db, store, EVENTS, read, &mut ours_samples).await?;
            if !raw_first(round) {
                raw(db, read, &mut raw_samples).await?;
            }
        }
        report.case(name, &ours_samples, &raw_samples, "raw");
    }
    Ok(())
}

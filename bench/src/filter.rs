//! `filter`: reading one event type out of a large log, with and without an index on
//! `(event_type, global_position)`: the measurement behind the choice of indexes for
//! `EventFilter::event_types`.

use std::time::Instant;

use pupsourcing::{EventFilter, EventStore, LogQuery};
use pupsourcing_postgres::{PgDatabase, PostgresStore};

use crate::stats::Samples;
use crate::{BenchError, Report};

const ROUNDS: usize = 9;

/// Loads `events` events of which one in `rarity` is `Rare`, the rest `Common`.
async fn load(db: &PgDatabase, events: u64, rarity: u64) -> Result<(), BenchError> {
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, aggregate_version, stream_hash, event_id, \
         event_type, event_version, payload, metadata, created_at) \
         SELECT 'load', (g / 100)::text, g % 100 + 1, 0, gen_random_uuid(), \
         CASE WHEN g % $2 = 0 THEN 'Rare' ELSE 'Common' END, 1, '\\x7b7d'::bytea, '{}'::json, now() \
         FROM generate_series(0, $1 - 1) AS g",
    )
    .bind(i64::try_from(events).unwrap_or(i64::MAX))
    .bind(i64::try_from(rarity).unwrap_or(1))
    .execute(db.pool())
    .await?;
    sqlx::query("VACUUM ANALYZE events").execute(db.pool()).await?;
    Ok(())
}

/// The median time of reading the first 500 `Rare` events of the log.
async fn read_rare(
    db: &PgDatabase,
    store: &PostgresStore,
    frontier: u64,
) -> Result<Samples, BenchError> {
    let query =
        LogQuery::up_to(frontier).filter(EventFilter::all().event_types(["Rare"])).limit(500);
    let mut samples = Samples::default();
    for _ in 0..ROUNDS {
        let mut tx = db.pool().begin().await?;
        let started = Instant::now();
        let read = store.read_events_until(&mut tx, &query).await?;
        samples.push(started.elapsed());
        tx.rollback().await?;
        if read.len() != 500 {
            return Err(BenchError::Stuck("fewer than 500 rare events"));
        }
    }
    Ok(samples)
}

pub(crate) async fn run(
    db: &PgDatabase,
    store: &PostgresStore,
    events: u64,
    report: &mut Report,
) -> Result<(), BenchError> {
    for rarity in [10, 1000] {
        let started = Instant::now();
        sqlx::query("TRUNCATE events").execute(db.pool()).await?;
        load(db, events, rarity).await?;
        println!(
            "filter: {events} events, 1 in {rarity} Rare, loaded in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let frontier = store.advance_frontier().await?.safe_position;
        let without = read_rare(db, store, frontier).await?;
        sqlx::query("CREATE INDEX bench_event_type_idx ON events (event_type, global_position)")
            .execute(db.pool())
            .await?;
        sqlx::query("ANALYZE events").execute(db.pool()).await?;
        let with = read_rare(db, store, frontier).await?;
        sqlx::query("DROP INDEX bench_event_type_idx").execute(db.pool()).await?;
        report.case(
            &format!("500 of 1-in-{rarity} event type, no index"),
            &without,
            &with,
            "with (event_type, position) index",
        );
    }
    Ok(())
}

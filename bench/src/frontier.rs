//! `frontier`: what one advance costs on a large log, and how fast a dead hole closes.

use std::time::{Duration, Instant};

use pupsourcing::{Database, Event, EventStore, ExpectedVersion, StreamId};
use pupsourcing_postgres::{PgDatabase, PostgresStore};

use crate::stats::{Samples, human};
use crate::{BenchError, Report, load_events};

/// Runs the frontier cases on a store holding `events` events.
pub(crate) async fn run(
    db: &PgDatabase,
    store: &PostgresStore,
    events: u64,
    report: &mut Report,
) -> Result<(), BenchError> {
    println!("frontier: loading {events} events ...");
    let loaded = Instant::now();
    load_events(db, events).await?;
    println!("frontier: loaded in {}", human(loaded.elapsed()));

    let first = Instant::now();
    let status = store.advance_frontier().await?;
    report.line(format!(
        "frontier  first advance over {events} events: {} (frontier {} of {})",
        human(first.elapsed()),
        status.safe_position,
        status.latest_position
    ));

    let stream = StreamId::new("bench", "frontier");
    let (mut advance, mut idle, mut raw) =
        (Samples::default(), Samples::default(), Samples::default());
    for round in 0..200u32 {
        let event = Event::new(&stream, "Tick", round.to_be_bytes().to_vec());
        store.append_committed(db, ExpectedVersion::Any, vec![event]).await?;
        let started = Instant::now();
        store.advance_frontier().await?;
        advance.push(started.elapsed());
        let started = Instant::now();
        store.advance_frontier().await?;
        idle.push(started.elapsed());
        let started = Instant::now();
        let _: i64 = sqlx::query_scalar("SELECT max(global_position) FROM events")
            .fetch_one(db.pool())
            .await?;
        raw.push(started.elapsed());
    }
    report.case("frontier advance (1 new event)", &advance, &raw, "raw SELECT max(position)");
    report.case("frontier advance (nothing new)", &idle, &raw, "raw SELECT max(position)");

    let mut closing = Samples::default();
    let mut rounds_total = 0u32;
    for _ in 0..50 {
        let mut doomed = db.begin().await?;
        store
            .append(
                &mut doomed,
                ExpectedVersion::Any,
                vec![Event::new(&stream, "Doomed", Vec::new())],
            )
            .await?;
        db.rollback(doomed).await?;
        let kept = store
            .append_committed(
                db,
                ExpectedVersion::Any,
                vec![Event::new(&stream, "Kept", Vec::new())],
            )
            .await?;
        let started = Instant::now();
        let mut rounds = 0u32;
        while store.advance_frontier().await?.safe_position < kept.last_position() {
            rounds += 1;
            if started.elapsed() > Duration::from_secs(30) {
                return Err(BenchError::Stuck("a dead hole did not close within 30 s"));
            }
        }
        rounds_total += rounds + 1;
        closing.push(started.elapsed());
    }
    report.line(format!(
        "frontier  dead hole closes in median {} p99 {} max {} ({:.1} advances on average)",
        human(closing.median()),
        human(closing.quantile(990)),
        human(closing.max()),
        f64::from(rounds_total) / 50.0
    ));
    Ok(())
}

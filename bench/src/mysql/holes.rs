//! The fence's own costs: an advance with nothing new, and how long a hole left by a rolled
//! back append takes to close (InnoDB refreshes the transaction list it reads every 0.1 s).

use std::time::{Duration, Instant};

use pupsourcing::{Database, Event, EventStore, ExpectedVersion, StreamId};
use pupsourcing_mysql::{MysqlDatabase, MysqlStore};

use crate::stats::{Samples, human};
use crate::{BenchError, Report};

const HOLES: u32 = 20;

pub(super) async fn run(
    report: &mut Report,
    db: &MysqlDatabase,
    store: &MysqlStore,
) -> Result<(), BenchError> {
    store.advance_frontier().await?;
    let mut idle = Samples::default();
    for _ in 0..50 {
        let started = Instant::now();
        store.advance_frontier().await?;
        idle.push(started.elapsed());
    }
    report.line(format!(
        "mysql: frontier advance, nothing new  median {}  p99 {}",
        human(idle.median()),
        human(idle.quantile(990))
    ));

    let stream = StreamId::new("bench", "holes");
    let (mut closing, mut advances) = (Samples::default(), 0u32);
    for _ in 0..HOLES {
        let mut doomed = db.begin().await?;
        let event = Event::new(&stream, "Doomed", Vec::new());
        store.append(&mut doomed, ExpectedVersion::Any, vec![event]).await?;
        db.rollback(doomed).await?;
        let event = Event::new(&stream, "Kept", Vec::new());
        let kept = store.append_committed(db, ExpectedVersion::Any, vec![event]).await?;
        let started = Instant::now();
        while store.advance_frontier().await?.safe_position < kept.last_position() {
            advances += 1;
            if started.elapsed() > Duration::from_secs(30) {
                return Err(BenchError::Stuck("a dead hole did not close within 30 s"));
            }
        }
        advances += 1;
        closing.push(started.elapsed());
    }
    report.line(format!(
        "mysql: dead hole closes in median {} p99 {} max {} ({:.1} advances on average)",
        human(closing.median()),
        human(closing.quantile(990)),
        human(closing.max()),
        f64::from(advances) / f64::from(HOLES)
    ));
    Ok(())
}

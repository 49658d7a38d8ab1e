//! Stop and resume: a worker stops, events keep coming, and the next run starts from the
//! checkpoint the last one committed: nothing is handled twice, nothing is missed. SQLite by
//! default (or the path given as the first argument); PostgreSQL or MySQL/MariaDB with
//! `DATABASE_URL`.

#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::Duration;

use pupsourcing::{Admin, Backend, BoxError, EventStore, spi::Coordinator};
use pupsourcing_examples::on_any_backend;
use pupsourcing_examples::setup::{Running, write_sample};
use pupsourcing_examples::sql::SqlDatabase;
use pupsourcing_examples::tally::{CountBy, Tally};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    on_any_backend!("stop-resume", run)
}

async fn run<D, S, C, K>(backend: &Backend<D, S, C, K>) -> Result<(), BoxError>
where
    D: SqlDatabase,
    S: EventStore<D> + Clone,
    C: Coordinator<D> + Clone,
{
    let tally = Tally::new("resumable", CountBy::AggregateType);
    tally.create_table(backend.database()).await?;
    let admin = Admin::new(backend);
    let patience = Duration::from_secs(30);

    let first = Running::start(backend, "first-run", vec![Arc::new(tally.clone())])?;
    write_sample(backend.database(), backend.store(), 12).await?;
    admin.wait_caught_up("resumable", patience).await?;
    first.stop().await?;
    let checkpoint = admin.status().await?.first().map_or(0, |s| s.unit.checkpoint);
    println!("first run handled 12 events and stopped at checkpoint {checkpoint}");

    write_sample(backend.database(), backend.store(), 9).await?;
    println!("9 more events written while no worker runs");

    let second = Running::start(backend, "second-run", vec![Arc::new(tally.clone())])?;
    admin.wait_caught_up("resumable", patience).await?;
    second.stop().await?;
    let total: u64 = tally.counts(backend.database()).await?.iter().map(|(_, n)| n).sum();
    println!("second run resumed after {checkpoint}: {total} events counted in all, none twice");
    if total != 21 {
        return Err(format!("expected 21, counted {total}").into());
    }
    Ok(())
}

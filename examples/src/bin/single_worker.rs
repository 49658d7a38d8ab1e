//! One worker, one projection: events counted by type into a table, in the batch transaction
//! that moves the consumer's checkpoint. SQLite by default (or the path given as the first
//! argument); PostgreSQL or MySQL/MariaDB with
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
    on_any_backend!("single-worker", run)
}

async fn run<D, S, C, K>(backend: &Backend<D, S, C, K>) -> Result<(), BoxError>
where
    D: SqlDatabase,
    S: EventStore<D> + Clone,
    C: Coordinator<D> + Clone,
{
    let by_type = Tally::new("by-type", CountBy::EventType);
    by_type.create_table(backend.database()).await?;
    let worker = Running::start(backend, "solo", vec![Arc::new(by_type.clone())])?;
    let written = write_sample(backend.database(), backend.store(), 30).await?;
    println!("wrote {} events", written.len());
    let admin = Admin::new(backend);
    let position = admin.wait_caught_up("by-type", Duration::from_secs(30)).await?;
    println!("the projection has handled everything up to position {position}:");
    let counts = by_type.counts(backend.database()).await?;
    for (key, events) in &counts {
        println!("   {key:<14} {events}");
    }
    worker.stop().await?;
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    println!("{total} events counted, each once");
    if total != 30 {
        return Err(format!("expected 30, counted {total}").into());
    }
    Ok(())
}

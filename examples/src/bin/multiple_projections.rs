//! Several projections on one worker: each its own consumer with its own checkpoint, fed the
//! same log independently. SQLite by default (or the path given as the first argument);
//! PostgreSQL or MySQL/MariaDB with
//! `DATABASE_URL`.

#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::Duration;

use pupsourcing::{Admin, Backend, BoxError, Consumer, EventStore, spi::Coordinator};
use pupsourcing_examples::on_any_backend;
use pupsourcing_examples::setup::{Running, write_sample};
use pupsourcing_examples::sql::SqlDatabase;
use pupsourcing_examples::tally::{CountBy, Tally};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    on_any_backend!("multiple-projections", run)
}

async fn run<D, S, C, K>(backend: &Backend<D, S, C, K>) -> Result<(), BoxError>
where
    D: SqlDatabase,
    S: EventStore<D> + Clone,
    C: Coordinator<D> + Clone,
{
    let by_type = Tally::new("by-type", CountBy::EventType);
    let by_aggregate = Tally::new("by-aggregate", CountBy::AggregateType);
    for tally in [&by_type, &by_aggregate] {
        tally.create_table(backend.database()).await?;
    }
    let consumers: Vec<Arc<dyn Consumer<D>>> =
        vec![Arc::new(by_type.clone()), Arc::new(by_aggregate.clone())];
    let worker = Running::start(backend, "solo", consumers)?;
    write_sample(backend.database(), backend.store(), 30).await?;
    let admin = Admin::new(backend);
    for name in ["by-type", "by-aggregate"] {
        admin.wait_caught_up(name, Duration::from_secs(30)).await?;
    }
    for status in admin.status().await? {
        println!(
            "consumer {:<13} checkpoint {}",
            status.unit.unit.consumer, status.unit.checkpoint
        );
    }
    for tally in [&by_type, &by_aggregate] {
        let counts = tally.counts(backend.database()).await?;
        println!("{}: {counts:?}", tally.table());
        let total: u64 = counts.iter().map(|(_, n)| n).sum();
        if total != 30 {
            return Err(format!("{}: expected 30, counted {total}", tally.table()).into());
        }
    }
    worker.stop().await?;
    println!("both projections counted all 30 events");
    Ok(())
}

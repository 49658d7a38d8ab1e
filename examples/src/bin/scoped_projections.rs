//! Scoped projections: each consumer reads only its slice of the log, filtered in SQL by
//! aggregate type, bounded context or event type. SQLite by default (or the path given as the
//! first argument); PostgreSQL or MySQL/MariaDB with
//! `DATABASE_URL`.

#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::Duration;

use pupsourcing::{Admin, Backend, BoxError, Consumer, EventFilter, EventStore, spi::Coordinator};
use pupsourcing_examples::on_any_backend;
use pupsourcing_examples::setup::{Running, write_sample};
use pupsourcing_examples::sql::SqlDatabase;
use pupsourcing_examples::tally::{CountBy, Tally};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    on_any_backend!("scoped-projections", run)
}

async fn run<D, S, C, K>(backend: &Backend<D, S, C, K>) -> Result<(), BoxError>
where
    D: SqlDatabase,
    S: EventStore<D> + Clone,
    C: Coordinator<D> + Clone,
{
    let scopes = [
        (Tally::new("orders", CountBy::EventType), EventFilter::all().aggregate_types(["order"])),
        (
            Tally::new("billing", CountBy::AggregateType),
            EventFilter::all().bounded_contexts(["billing"]),
        ),
        (
            Tally::new("payments", CountBy::AggregateType),
            EventFilter::all().event_types(["OrderPaid"]),
        ),
    ];
    let mut consumers: Vec<Arc<dyn Consumer<D>>> = Vec::new();
    let mut tallies = Vec::new();
    for (tally, filter) in scopes {
        let tally = tally.with_filter(filter);
        tally.create_table(backend.database()).await?;
        consumers.push(Arc::new(tally.clone()));
        tallies.push(tally);
    }
    let worker = Running::start(backend, "solo", consumers)?;
    let written = write_sample(backend.database(), backend.store(), 30).await?;
    let admin = Admin::new(backend);
    for tally in &tallies {
        admin.wait_caught_up(Consumer::<D>::name(tally), Duration::from_secs(30)).await?;
        let counts = tally.counts(backend.database()).await?;
        let expected = written.iter().filter(|e| Consumer::<D>::filter(tally).matches(e)).count();
        let total: u64 = counts.iter().map(|(_, n)| n).sum();
        println!(
            "{:<8} {counts:?}: {total} of {} events in scope",
            Consumer::<D>::name(tally),
            written.len()
        );
        if usize::try_from(total)? != expected {
            return Err(format!("expected {expected}, counted {total}").into());
        }
    }
    worker.stop().await?;
    println!("every projection saw exactly its scope");
    Ok(())
}

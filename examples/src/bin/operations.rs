//! A service left running for an operator: a `revenue` consumer that cannot handle one malformed
//! invoice pauses on it, beside a healthy `by-type` tally. Operate it with the `pupsourcing`
//! command line from another terminal (the README's "Operating it"); Ctrl-C stops it.
//!
//! ```text
//! cargo run -p pupsourcing-examples --bin operations -- /tmp/operations.sqlite3
//! cargo run -p pupsourcing-cli -- -d /tmp/operations.sqlite3 status
//! ```

#![allow(clippy::print_stdout)]

use std::time::Duration;

use pupsourcing::spi::Coordinator;
use pupsourcing::{
    Admin, Backend, BoxError, Consumer, Event, EventStore, ExpectedVersion, HandlerError,
    PauseRule, PersistedEvent, RetryPolicy, StreamId, Worker, async_trait,
};
use pupsourcing_examples::on_any_backend;
use pupsourcing_examples::setup::{self, quick};
use pupsourcing_examples::sql::SqlDatabase;
use pupsourcing_examples::tally::{CountBy, Tally};
use tokio::sync::oneshot;

const INVOICES: u64 = 200;
const MALFORMED: u64 = 120;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    on_any_backend!("operations", run)
}

/// A tally that takes a few milliseconds per event, as a consumer calling another system does;
/// with `check_amount`, an invoice whose amount is not a number fails it.
struct Billing {
    tally: Tally,
    check_amount: bool,
}

#[async_trait]
impl<D: SqlDatabase> Consumer<D> for Billing {
    fn name(&self) -> &str {
        Consumer::<D>::name(&self.tally)
    }

    async fn handle(&self, tx: &mut D::Tx, event: &PersistedEvent) -> Result<(), HandlerError> {
        let invoice: serde_json::Value = event.decode_json()?;
        if self.check_amount && !invoice["amount"].is_u64() {
            return Err(format!("invoice amount is not a number: {}", invoice["amount"]).into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        Consumer::<D>::handle(&self.tally, tx, event).await
    }

    async fn reset(&self, tx: &mut D::Tx) -> Result<(), HandlerError> {
        Consumer::<D>::reset(&self.tally, tx).await
    }
}

async fn run<D, S, C, K>(backend: &Backend<D, S, C, K>) -> Result<(), BoxError>
where
    D: SqlDatabase,
    S: EventStore<D> + Clone,
    C: Coordinator<D> + Clone,
{
    let (db, store) = (backend.database(), backend.store());
    let by_customer = Tally::new("revenue", CountBy::AggregateType);
    let by_type = Tally::new("by-type", CountBy::EventType);
    for tally in [&by_customer, &by_type] {
        tally.create_table(db).await?;
    }
    for n in 1..=INVOICES {
        let stream = StreamId::new(format!("customer-{}", n % 7), format!("invoice-{n}"));
        let amount = if n == MALFORMED { "\"twelve\"".to_owned() } else { (n * 10).to_string() };
        let payload = format!("{{\"amount\":{amount}}}");
        let mut tx = db.begin().await?;
        let event = Event::new(&stream, "InvoiceIssued", payload.into_bytes());
        store.append(&mut tx, ExpectedVersion::NoStream, vec![event]).await?;
        db.commit(tx).await?;
    }
    println!("wrote {INVOICES} invoices; invoice {MALFORMED} has a malformed amount");

    let mut config = quick("billing-1");
    config.retry = RetryPolicy {
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        pause: PauseRule { attempts: 3, failing_for: Duration::from_millis(500) },
    };
    config.version = env!("CARGO_PKG_VERSION").to_owned();
    let worker = Worker::builder(backend)
        .config(config)
        .consumer(Billing { tally: by_customer, check_amount: true })
        .consumer(Billing { tally: by_type, check_amount: false })
        .build()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    let admin = Admin::new(backend);
    admin.wait_caught_up("by-type", Duration::from_secs(60)).await?;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let paused = loop {
        let revenue = admin.status().await?.into_iter().find(|u| u.unit.unit.consumer == "revenue");
        if let Some(unit) = revenue.filter(|u| u.unit.paused) {
            break unit;
        }
        if std::time::Instant::now() > deadline {
            return Err("revenue did not pause on the malformed invoice within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    println!(
        "revenue paused on event {}: {}",
        paused.unit.failed_position.unwrap_or_default(),
        paused.unit.last_error.unwrap_or_default()
    );
    let target = match setup::server() {
        None => std::env::args().nth(1).unwrap_or_else(|| {
            std::env::temp_dir().join("pupsourcing-operations.sqlite3").display().to_string()
        }),
        Some(_) => "\"$DATABASE_URL\" --schema pupsourcing_operations".to_owned(),
    };
    // Polled once before saying so, so that the Ctrl-C handler is in place when a reader of
    // "running;" sends the signal.
    let mut interrupted = std::pin::pin!(tokio::signal::ctrl_c());
    let early = tokio::select! {
        biased;
        _ = &mut interrupted => true,
        () = std::future::ready(()) => false,
    };
    println!("running; operate it from another terminal, Ctrl-C stops it:");
    println!("  cargo run -p pupsourcing-cli -- -d {target} status");
    if !early {
        let _ = interrupted.await;
    }
    let _ = stop.send(());
    running.await??;
    println!("stopped");
    Ok(())
}

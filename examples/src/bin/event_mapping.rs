//! Event mapping: versioned events and upcasting. An older deployment stored `AccountOpened`
//! version 1 (no currency) and `Deposited` (since renamed `MoneyDeposited`); the current code
//! reads them all as today's types, through an alias and its own `From` conversion, and writes
//! new events at the current version.
//!
//! Runs on a fresh SQLite database by default (in the temporary directory, or at the path given
//! as the first argument); set `DATABASE_URL=postgres://...` (or `mysql://...`)
//! to run it on PostgreSQL (or MySQL/MariaDB).

#![allow(clippy::print_stdout)]

use pupsourcing::typed::TypedStoreExt;
use pupsourcing::{
    Backend, BoxError, Database, DomainEvent, Event, EventStore, ExpectedVersion, StreamId,
    Versions,
};
use serde::{Deserialize, Serialize};

/// Today's `AccountOpened` (version 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Opened {
    owner: String,
    currency: String,
}

/// `AccountOpened` version 1, as the first deployment wrote it.
#[derive(Debug, Deserialize)]
struct OpenedV1 {
    owner: String,
}

impl From<OpenedV1> for Opened {
    fn from(old: OpenedV1) -> Self {
        // Every account of the first deployment was in euros.
        Self { owner: old.owner, currency: "EUR".into() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Deposited {
    cents: u64,
}

#[derive(Debug, Clone, PartialEq, DomainEvent)]
#[event(aggregate_type = "account")]
enum AccountEvent {
    #[event(name = "AccountOpened", version = 2, upcast(from = 1, via = OpenedV1))]
    Opened(Opened),
    #[event(name = "MoneyDeposited", aliases = ["Deposited"])]
    Deposited(Deposited),
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    pupsourcing_examples::on_any_backend!("event-mapping", run)
}

async fn run<D, S, C, K>(backend: &Backend<D, S, C, K>) -> Result<(), BoxError>
where
    D: Database,
    S: EventStore<D>,
{
    let (db, store) = (backend.database(), backend.store());
    let account = StreamId::new("account", uuid::Uuid::new_v4().simple().to_string());

    println!("1. What the first deployment stored (raw events, as it wrote them)");
    let old = vec![
        Event::new(&account, "AccountOpened", br#"{"owner":"ann"}"#.to_vec()),
        Event::new(&account, "Deposited", br#"{"cents":2500}"#.to_vec()),
    ];
    store.append_committed(db, ExpectedVersion::NoStream, old).await?;
    let mut tx = db.begin_read().await?;
    for event in store.read_stream(&mut tx, &account, Versions::all()).await?.iter() {
        println!(
            "   {:<15} v{} {}",
            event.event_type(),
            event.event.event_version,
            String::from_utf8_lossy(&event.event.payload)
        );
    }
    db.rollback(tx).await?;

    println!("2. Today's code writes at the current version");
    let mut tx = db.begin().await?;
    let deposit = AccountEvent::Deposited(Deposited { cents: 1000 });
    store.append_typed(&mut tx, &account, ExpectedVersion::Exact(2), &[deposit]).await?;
    db.commit(tx).await?;

    println!("3. ... and reads every event as today's types");
    let mut tx = db.begin_read().await?;
    let typed = store.read_typed::<AccountEvent>(&mut tx, &account, Versions::all()).await?;
    db.rollback(tx).await?;
    for event in &typed {
        let stored = &event.persisted.event;
        println!("   {:<15} v{} -> {:?}", stored.event_type, stored.event_version, event.event);
    }
    let expected = [
        AccountEvent::Opened(Opened { owner: "ann".into(), currency: "EUR".into() }),
        AccountEvent::Deposited(Deposited { cents: 2500 }),
        AccountEvent::Deposited(Deposited { cents: 1000 }),
    ];
    let decoded: Vec<_> = typed.into_iter().map(|event| event.event).collect();
    if decoded != expected {
        return Err(format!("unexpected mapping: {decoded:?}").into());
    }
    println!("4. The type table, for filters and tooling");
    for info in AccountEvent::TYPES {
        println!(
            "   {:<15} current v{}, aliases {:?}, upcast from {:?}",
            info.name, info.version, info.aliases, info.upcasts_from
        );
    }
    Ok(())
}

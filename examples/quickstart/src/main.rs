//! The pupsourcing quickstart: users registered, an email changed, a stream shown with its
//! versions, an optimistic-concurrency conflict resolved, an idempotent retry refused.
//!
//! Runs on a fresh SQLite database (in the temporary directory, or at the path given as the first
//! argument). Built with the `postgres` feature, it runs on PostgreSQL when
//! `DATABASE_URL=postgres://...` is set (the tables are created if missing).

#![allow(clippy::print_stdout)]

use std::error::Error;

use pupsourcing::{Database, EventStore, EventStoreExt, ExpectedVersion, StoreError};
use pupsourcing_quickstart::users::{CommandError, User, save};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    #[cfg(feature = "postgres")]
    if let Some(url) = std::env::var("DATABASE_URL").ok().filter(|url| !url.is_empty()) {
        println!("pupsourcing quickstart on PostgreSQL ({})\n", redact(&url));
        let backend = pupsourcing_postgres::connect(&url, 4).await?;
        backend.store().migrate().await?;
        return run(backend.database(), backend.store()).await;
    }
    let path = std::env::args_os()
        .nth(1)
        .map_or_else(|| std::env::temp_dir().join("pupsourcing-quickstart.sqlite3"), Into::into);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    println!("pupsourcing quickstart on SQLite ({})\n", path.display());
    let backend = pupsourcing_sqlite::open(path).await?;
    backend.store().migrate().await?;
    run(backend.database(), backend.store()).await
}

async fn run<D: Database, S: EventStore<D>>(db: &D, store: &S) -> Result<(), Box<dyn Error>> {
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let alice = format!("alice-{}", &run_id[..8]);
    let bob = format!("bob-{}", &run_id[..8]);

    println!("1. Registering two users");
    for (id, name, email) in
        [(&alice, "Alice", "alice@example.com"), (&bob, "Bob", "bob@example.com")]
    {
        let user = User::load(db, store, id).await?;
        let appended = save(db, store, id, &user, &user.register(name, email)?).await?;
        println!(
            "   {name:<5} registered as {id}: version {}, global position {}",
            appended.to_version(),
            appended.last_position()
        );
    }

    println!("\n2. Alice changes her email");
    let user = User::load(db, store, &alice).await?;
    let appended =
        save(db, store, &alice, &user, &user.change_email("alice@work.example")?).await?;
    println!(
        "   {} -> alice@work.example: stream now at version {}",
        user.email,
        appended.to_version()
    );

    println!("\n3. Alice's stream");
    let mut tx = db.begin_read().await?;
    let stream = store.read_full_stream(&mut tx, &User::stream(&alice)).await?;
    db.rollback(tx).await?;
    println!(
        "   {} at version {} ({} events)",
        stream.id(),
        stream.last_read_version(),
        stream.len()
    );
    for event in &stream {
        println!(
            "   v{} pos {:<3} {:<15} {}",
            event.aggregate_version,
            event.global_position,
            event.event_type(),
            String::from_utf8_lossy(&event.event.payload)
        );
    }

    println!("\n4. Two clerks edit Bob at the same time");
    let clerk_a = User::load(db, store, &bob).await?;
    let clerk_b = User::load(db, store, &bob).await?;
    println!("   both clerks loaded Bob at version {}", clerk_a.version);
    save(db, store, &bob, &clerk_a, &clerk_a.change_email("bob@home.example")?).await?;
    println!("   clerk A saved bob@home.example");
    let mut decided_on = clerk_b;
    let email = "bob@office.example";
    loop {
        match save(db, store, &bob, &decided_on, &decided_on.change_email(email)?).await {
            Ok(appended) => {
                println!("   clerk B saved {email} at version {}", appended.to_version());
                break;
            }
            Err(CommandError::Store(conflict @ StoreError::Conflict { .. })) => {
                println!("   clerk B was refused: {conflict}");
                decided_on = User::load(db, store, &bob).await?;
                println!(
                    "   clerk B reloads Bob (version {}, {}) and decides again",
                    decided_on.version, decided_on.email
                );
            }
            Err(other) => return Err(other.into()),
        }
    }

    println!("\n5. A retried append is recognised by its event id");
    let mut tx = db.begin_read().await?;
    let first = store.read_stream(&mut tx, &User::stream(&alice), (1..=1).into()).await?;
    db.rollback(tx).await?;
    let replay = first.events().iter().map(|e| e.event.clone()).collect();
    let start = first.events().first().map_or(0, |e| e.global_position - 1);
    match store.append_committed(db, ExpectedVersion::Any, replay).await {
        Err(err @ StoreError::DuplicateEventId { .. }) => {
            println!("   {err}\n   nothing was stored twice")
        }
        other => return Err(format!("expected a duplicate, got {other:?}").into()),
    }

    println!("\n6. The global log (every stream, in position order)");
    let mut tx = db.begin_read().await?;
    let log = store.read_events(&mut tx, start, 100).await?;
    db.rollback(tx).await?;
    for event in log.iter().filter(|e| e.stream().aggregate_id().ends_with(&run_id[..8])) {
        println!(
            "   pos {:<3} {:<20} v{} {}",
            event.global_position,
            event.stream().to_string(),
            event.aggregate_version,
            event.event_type()
        );
    }
    Ok(())
}

/// The URL without its password, for printing.
#[cfg(feature = "postgres")]
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

//! The pupsourcing quickstart, on the typed API: users registered and changed through a
//! repository of commands, the stream read back as typed events, an optimistic-concurrency
//! conflict shown and then resolved by the repository's retry, an idempotent command retried.
//!
//! Runs on a fresh SQLite database (in the temporary directory, or at the path given as the first
//! argument). Built with the `postgres` feature, it runs on PostgreSQL when
//! `DATABASE_URL=postgres://...` is set; built with the `mysql` feature, on MySQL/MariaDB when
//! `DATABASE_URL=mysql://...` is set (the tables are created if missing).

#![allow(clippy::print_stdout)]

use std::error::Error;

use pupsourcing::aggregate::{Decider, Repository};
use pupsourcing::typed::{TypedError, TypedStoreExt};
use pupsourcing::{Backend, Database, EventStore, ExpectedVersion, StoreError, Versions};
use pupsourcing_quickstart::users::{User, UserCommand, UserEvent, Users};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let url = std::env::var("DATABASE_URL").ok().filter(|url| !url.is_empty());
    let mysql = |url: &&str| url.starts_with("mysql://") || url.starts_with("mariadb://");
    #[cfg(feature = "mysql")]
    if let Some(url) = url.as_deref().filter(mysql) {
        println!("pupsourcing quickstart on MySQL/MariaDB ({})\n", redact(url));
        let backend =
            pupsourcing_mysql::connect(&url.replacen("mariadb://", "mysql://", 1), 4).await?;
        backend.store().migrate().await?;
        return run(&backend).await;
    }
    #[cfg(feature = "postgres")]
    if let Some(url) = url.as_deref().filter(|url| !mysql(url)) {
        println!("pupsourcing quickstart on PostgreSQL ({})\n", redact(url));
        let backend = pupsourcing_postgres::connect(url, 4).await?;
        backend.store().migrate().await?;
        return run(&backend).await;
    }
    if let Some(url) = url {
        eprintln!(
            "note: DATABASE_URL is set ({}), but this build has no driver for it (build with \
             `--features postgres` or `--features mysql`); running on SQLite",
            redact(&url)
        );
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
    run(&backend).await
}

async fn run<D, S, C, K>(backend: &Backend<D, S, C, K>) -> Result<(), Box<dyn Error>>
where
    D: Database,
    S: EventStore<D> + Clone,
{
    let (db, store) = (backend.database(), backend.store());
    let users = Repository::new(backend, Users);
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let alice = format!("alice-{}", &run_id[..8]);
    let bob = format!("bob-{}", &run_id[..8]);

    println!("1. Registering two users");
    for (id, name, email) in
        [(&alice, "Alice", "alice@example.com"), (&bob, "Bob", "bob@example.com")]
    {
        let register = UserCommand::Register { name: name.into(), email: email.into() };
        let appended = users.execute(&User::stream(id), &register).await?.appended;
        let appended = appended.ok_or("a registration appends an event")?;
        println!(
            "   {name:<5} registered as {id}: version {}, global position {}",
            appended.to_version(),
            appended.last_position()
        );
    }

    println!("\n2. Alice changes her email");
    let change = UserCommand::ChangeEmail { email: "alice@work.example".into() };
    let executed = users.execute(&User::stream(&alice), &change).await?;
    println!("   -> alice@work.example: stream now at version {}", executed.version);
    let refused = users.execute(&User::stream(&alice), &change).await;
    println!(
        "   the same change again is refused by the domain: {}",
        refused.map_or_else(|e| e.to_string(), |_| "accepted?".into())
    );

    println!("\n3. Alice's stream, typed");
    let mut tx = db.begin_read().await?;
    let stream =
        store.read_typed::<UserEvent>(&mut tx, &User::stream(&alice), Versions::all()).await?;
    db.rollback(tx).await?;
    for typed in &stream {
        let stored = &typed.persisted;
        println!(
            "   v{} pos {:<3} {:<15} {:?}",
            stored.aggregate_version,
            stored.global_position,
            stored.event_type(),
            typed.event
        );
    }

    println!("\n4. Two clerks edit Bob at the same time");
    let clerk_a = users.load_committed(&User::stream(&bob)).await?;
    let clerk_b = users.load_committed(&User::stream(&bob)).await?;
    println!("   both clerks loaded Bob at version {}", clerk_a.version);
    let home = UserCommand::ChangeEmail { email: "bob@home.example".into() };
    users.execute(&User::stream(&bob), &home).await?;
    println!("   clerk A saved bob@home.example");
    let office = UserCommand::ChangeEmail { email: "bob@office.example".into() };
    let stale = Users.decide(&clerk_b.state, &office)?;
    let mut tx = db.begin().await?;
    let expected = ExpectedVersion::Exact(clerk_b.version);
    match store.append_typed(&mut tx, &User::stream(&bob), expected, &stale).await {
        Err(TypedError::Store(conflict @ StoreError::Conflict { .. })) => {
            db.rollback(tx).await?;
            println!("   clerk B was refused: {conflict}");
        }
        other => return Err(format!("expected a conflict, got {other:?}").into()),
    }
    let executed = users.execute(&User::stream(&bob), &office).await?;
    println!(
        "   clerk B saved bob@office.example at version {}: the repository reloads and decides again on a conflict",
        executed.version
    );

    println!("\n5. A retried command is recognised by its event ids");
    let command_id = uuid::Uuid::new_v4();
    let rename = UserCommand::ChangeEmail { email: "bob@new.example".into() };
    users.execute_idempotent(&User::stream(&bob), command_id, &rename).await?;
    let retried = users.execute_idempotent(&User::stream(&bob), command_id, &rename).await?;
    if !retried.already_applied {
        return Err("the retried command was applied twice".into());
    }
    println!("   the same command id again: already applied, nothing was stored twice");

    println!("\n6. The global log (every stream, in position order)");
    let mut tx = db.begin_read().await?;
    let log = store.read_events(&mut tx, 0, usize::MAX).await?;
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
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

//! Snapshots: an account with a long history (20 000 bookings), loaded by replaying every event
//! and then from a snapshot plus the few events after it; a change of the state's shape that
//! makes old snapshots stale (ignored, never misread); and the operator's count and drop.
//!
//! Runs on a fresh SQLite database by default (in the temporary directory, or at the path given
//! as the first argument); set `DATABASE_URL=postgres://...` (or `mysql://...`) to run it on
//! PostgreSQL (or MySQL/MariaDB).

#![allow(clippy::print_stdout)]

use std::time::Instant;

use pupsourcing::aggregate::{Decider, Repository, SnapshotPolicy};
use pupsourcing::snapshot::{SnapshotAdmin, SnapshotStore};
use pupsourcing::typed::TypedStoreExt;
use pupsourcing::{
    Backend, BoxError, Database, DomainEvent, EventStore, ExpectedVersion, StreamId,
};
use pupsourcing_examples::setup::{self, Server, fresh_mysql, fresh_postgres, fresh_sqlite_path};
use pupsourcing_mysql::MysqlSnapshotStore;
use pupsourcing_postgres::PostgresSnapshotStore;
use pupsourcing_sqlite::SqliteSnapshotStore;
use serde::{Deserialize, Serialize};

/// Money booked on the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Booked {
    cents: i64,
}

#[derive(Debug, Clone, PartialEq, DomainEvent)]
#[event(aggregate_type = "account")]
enum AccountEvent {
    #[event(name = "Booked")]
    Booked(Booked),
}

/// The state a snapshot holds: serde, like the events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Account {
    balance: i64,
    bookings: u64,
}

struct Accounts;

impl Decider for Accounts {
    type State = Account;
    type Event = AccountEvent;
    type Command = i64;
    type Error = std::convert::Infallible;

    fn initial_state(&self) -> Account {
        Account::default()
    }

    fn evolve(&self, account: Account, AccountEvent::Booked(booked): &AccountEvent) -> Account {
        Account { balance: account.balance + booked.cents, bookings: account.bookings + 1 }
    }

    fn decide(&self, _: &Account, cents: &i64) -> Result<Vec<AccountEvent>, Self::Error> {
        Ok(vec![AccountEvent::Booked(Booked { cents: *cents })])
    }
}

const HISTORY: i64 = 20_000;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    match setup::server() {
        Some(Server::Postgres(url)) => {
            println!("snapshots on PostgreSQL");
            let backend = fresh_postgres(&url, "pupsourcing_snapshots").await?;
            let snapshots = PostgresSnapshotStore::new(backend.store());
            run(&backend, snapshots).await
        }
        Some(Server::Mysql(url)) => {
            println!("snapshots on MySQL/MariaDB");
            let backend = fresh_mysql(&url, "pupsourcing_snapshots").await?;
            let snapshots = MysqlSnapshotStore::new(backend.store());
            run(&backend, snapshots).await
        }
        None => {
            let path = fresh_sqlite_path("snapshots");
            println!("snapshots on SQLite ({})", path.display());
            let backend = pupsourcing_sqlite::open(path).await?;
            backend.store().migrate().await?;
            let snapshots = SqliteSnapshotStore::new(backend.store());
            run(&backend, snapshots).await
        }
    }
}

async fn run<D, S, C, K, Sn>(backend: &Backend<D, S, C, K>, snapshots: Sn) -> Result<(), BoxError>
where
    D: Database,
    S: EventStore<D> + Clone,
    Sn: SnapshotStore<D> + Clone,
{
    let account = StreamId::new("account", "a-1");
    let mut tx = backend.database().begin().await?;
    for first in (0..HISTORY).step_by(1_000) {
        let batch: Vec<_> = (first..first + 1_000)
            .map(|n| AccountEvent::Booked(Booked { cents: n % 10 }))
            .collect();
        let version = u64::try_from(first)?;
        let expected =
            if first == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Exact(version) };
        backend.store().append_typed(&mut tx, &account, expected, &batch).await?;
    }
    backend.database().commit(tx).await?;
    println!("account a-1 has a history of {HISTORY} bookings");

    let replaying = Repository::new(backend, Accounts);
    let started = Instant::now();
    let full = replaying.load_committed(&account).await?;
    println!("without snapshots: {} events replayed in {:.1?}", full.replayed(), started.elapsed());

    // A snapshot whenever a load folded more than 100 events after the newest one, written in
    // the command's transaction.
    let accounts = Repository::new(backend, Accounts)
        .with_snapshots(snapshots.clone(), SnapshotPolicy::when_replay_exceeds(100));
    accounts.execute(&account, &5).await?;
    let started = Instant::now();
    let fast = accounts.load_committed(&account).await?;
    println!(
        "with snapshots: {} events replayed after the snapshot at version {} in {:.1?}",
        fast.replayed(),
        fast.snapshot.unwrap_or(0),
        started.elapsed()
    );
    let replayed = replaying.load_committed(&account).await?;
    println!("same state with and without snapshots: {}", fast.state == replayed.state);
    if fast.state != replayed.state || fast.replayed() != 0 {
        return Err("the snapshot load differs from the replay".into());
    }

    // The state's shape changed: new code declares state version 2. The version-1 snapshot is
    // ignored (a full replay, logged once and counted), then replaced by a version-2 one.
    let reshaped = Repository::new(backend, Accounts).with_snapshots(
        snapshots.clone(),
        SnapshotPolicy::when_replay_exceeds(100).state_version(2),
    );
    let stale = reshaped.load_committed(&account).await?;
    println!("state version 2 ignores the version-1 snapshot: {}", stale.snapshot.is_none());
    reshaped.execute(&account, &-5).await?;
    let renewed = reshaped.load_committed(&account).await?;
    println!(
        "after one command, state version 2 loads from its own snapshot at version {}",
        renewed.snapshot.unwrap_or(0)
    );

    let admin = SnapshotAdmin::new(backend, snapshots);
    let stats = admin.stats("account").await?;
    println!("{} account snapshots, {} bytes of state", stats.count, stats.state_bytes);
    let dropped = admin.drop_aggregate_type("account").await?;
    let after = reshaped.load_committed(&account).await?;
    println!(
        "dropped {dropped} snapshots; loading replays all {} events again, balance {}",
        after.replayed(),
        after.state.balance
    );
    if after.state != renewed.state || stale.snapshot.is_some() || stats.count != 2 {
        return Err("snapshots did not behave as described".into());
    }
    Ok(())
}

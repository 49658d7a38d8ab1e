//! `snapshots`: load-and-decide on a 10 000-event stream with and without a snapshot every 100
//! events, against the same on a 100-event stream; a command without a transaction against the
//! same command in one; and what writing a snapshot adds to a command in a transaction.

use std::time::{Duration, Instant};

use pupsourcing::aggregate::{Decider, Repository, SnapshotPolicy};
use pupsourcing::typed::TypedStoreExt;
use pupsourcing::{Backend, Database, DomainEvent, ExpectedVersion, StreamId};
use pupsourcing_postgres::{PgDatabase, PostgresSnapshotStore, PostgresStore};
use serde::{Deserialize, Serialize};

use crate::stats::{Samples, raw_first};
use crate::{BenchError, Report};

const LONG: u64 = 10_000;
const SHORT: u64 = 100;
const EVERY: u64 = 100;
const ROUNDS: usize = 7;
const LOADS: usize = 20;
const COMMANDS: usize = 50;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Booked {
    cents: u64,
    reference: String,
}

#[derive(Debug, Clone, PartialEq, DomainEvent)]
#[event(aggregate_type = "account")]
enum AccountEvent {
    #[event(name = "Booked")]
    Booked(Booked),
}

/// An account: its balance, entry count and its 20 latest references (about 600 bytes of JSON).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Account {
    balance: u64,
    entries: u64,
    recent: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
enum Command {
    Book,
    Inspect,
}

struct Accounts;

impl Decider for Accounts {
    type State = Account;
    type Event = AccountEvent;
    type Command = Command;
    type Error = std::convert::Infallible;

    fn initial_state(&self) -> Account {
        Account::default()
    }

    fn evolve(&self, mut state: Account, AccountEvent::Booked(booked): &AccountEvent) -> Account {
        state.balance += booked.cents;
        state.entries += 1;
        if state.recent.len() == 20 {
            state.recent.remove(0);
        }
        state.recent.push(booked.reference.clone());
        state
    }

    fn decide(
        &self,
        state: &Account,
        command: &Command,
    ) -> Result<Vec<AccountEvent>, std::convert::Infallible> {
        Ok(match command {
            Command::Inspect => vec![],
            Command::Book => vec![booked(state.entries)],
        })
    }
}

fn booked(n: u64) -> AccountEvent {
    AccountEvent::Booked(Booked { cents: 100 + n % 7, reference: format!("INV-2026-{n:06}") })
}

type AccountRepository = Repository<PgDatabase, PostgresStore, Accounts>;

async fn fill(
    db: &PgDatabase,
    store: &PostgresStore,
    stream: &StreamId,
    events: u64,
) -> Result<(), BenchError> {
    let mut tx = db.begin().await?;
    let mut written = 0;
    while written < events {
        let batch: Vec<AccountEvent> = (written..events.min(written + 1_000)).map(booked).collect();
        let expected =
            if written == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Exact(written) };
        written += u64::try_from(batch.len()).unwrap_or(0);
        store.append_typed(&mut tx, stream, expected, &batch).await.map_err(BenchError::command)?;
    }
    db.commit(tx).await?;
    Ok(())
}

/// The mean time of one load-and-decide (a command that decides nothing) on `stream`.
async fn load_and_decide(
    repository: &AccountRepository,
    stream: &StreamId,
    expected_replay: u64,
) -> Result<Duration, BenchError> {
    let started = Instant::now();
    for _ in 0..LOADS {
        let executed =
            repository.execute(stream, &Command::Inspect).await.map_err(BenchError::command)?;
        if executed.appended.is_some() {
            return Err(BenchError::Stuck("an inspection appended"));
        }
    }
    let elapsed = started.elapsed() / u32::try_from(LOADS).unwrap_or(1);
    let loaded = repository.load_committed(stream).await.map_err(BenchError::command)?;
    if loaded.replayed() != expected_replay {
        return Err(BenchError::Stuck("the load replayed an unexpected number of events"));
    }
    Ok(elapsed)
}

/// The mean time of one command that books the first event of a new stream (so that loading
/// costs the same with and without snapshots).
async fn book(repository: &AccountRepository, name: &str) -> Result<Duration, BenchError> {
    let started = Instant::now();
    for _ in 0..COMMANDS {
        let stream = StreamId::new("account", format!("{name}-{}", uuid::Uuid::new_v4()));
        repository.execute(&stream, &Command::Book).await.map_err(BenchError::command)?;
    }
    Ok(started.elapsed() / u32::try_from(COMMANDS).unwrap_or(1))
}

/// [`book`] with each command in a transaction of its own through `execute_in`: what
/// `execute` did before it appended without a transaction.
async fn book_in_transaction(
    db: &PgDatabase,
    repository: &AccountRepository,
    name: &str,
) -> Result<Duration, BenchError> {
    let started = Instant::now();
    for _ in 0..COMMANDS {
        let stream = StreamId::new("account", format!("{name}-{}", uuid::Uuid::new_v4()));
        let mut tx = db.begin().await?;
        repository
            .execute_in(&mut tx, &stream, &Command::Book)
            .await
            .map_err(BenchError::command)?;
        db.commit(tx).await?;
    }
    Ok(started.elapsed() / u32::try_from(COMMANDS).unwrap_or(1))
}

pub(crate) async fn run(
    db: &PgDatabase,
    store: &PostgresStore,
    report: &mut Report,
) -> Result<(), BenchError> {
    println!(
        "snapshots: load-and-decide on {LONG}- and {SHORT}-event streams, {ROUNDS} interleaved \
         rounds of {LOADS} commands; {COMMANDS} commands on new streams with and without a snapshot write"
    );
    let backend = Backend::from_parts(db.clone(), store.clone(), (), ());
    let snapshots = PostgresSnapshotStore::new(store);
    let plain = Repository::new(&backend, Accounts);
    let every = Repository::new(&backend, Accounts)
        .with_snapshots(snapshots.clone(), SnapshotPolicy::every(EVERY));
    let (long, short) = (StreamId::new("account", "long"), StreamId::new("account", "short"));
    // The worst case of a snapshot every 100 events: 99 events after the newest snapshot.
    fill(db, store, &long, LONG - 1).await?;
    fill(db, store, &short, SHORT).await?;
    seed_snapshot(db, &snapshots, &long).await?;
    let (mut without, mut with, mut hundred) =
        (Samples::default(), Samples::default(), Samples::default());
    for round in 0..ROUNDS {
        let hundred_first = raw_first(round);
        if hundred_first {
            hundred.push(load_and_decide(&plain, &short, SHORT).await?);
        }
        without.push(load_and_decide(&plain, &long, LONG - 1).await?);
        with.push(load_and_decide(&every, &long, EVERY - 1).await?);
        if !hundred_first {
            hundred.push(load_and_decide(&plain, &short, SHORT).await?);
        }
    }
    report.case("load+decide 10 000 events, snapshot/100", &with, &hundred, "100-event stream");
    report.case("load+decide 10 000 events, no snapshot", &without, &with, "snapshot/100");

    let (mut snapshotting, mut appending, mut transacted) =
        (Samples::default(), Samples::default(), Samples::default());
    let each =
        Repository::new(&backend, Accounts).with_snapshots(snapshots, SnapshotPolicy::every(1));
    for round in 0..ROUNDS {
        if raw_first(round) {
            appending.push(book(&plain, "plain").await?);
            transacted.push(book_in_transaction(db, &plain, "tx").await?);
            snapshotting.push(book(&each, "snap").await?);
        } else {
            snapshotting.push(book(&each, "snap").await?);
            transacted.push(book_in_transaction(db, &plain, "tx").await?);
            appending.push(book(&plain, "plain").await?);
        }
    }
    report.case("command, no transaction", &appending, &transacted, "command in a transaction");
    report.case("command + snapshot write", &snapshotting, &transacted, "command in a transaction");
    Ok(())
}

/// Writes the snapshot at 9 900 of the long stream, as a policy of every 100 would have.
async fn seed_snapshot(
    db: &PgDatabase,
    snapshots: &PostgresSnapshotStore,
    stream: &StreamId,
) -> Result<(), BenchError> {
    use pupsourcing::snapshot::{Snapshot, SnapshotStore};
    let mut state = Accounts.initial_state();
    for n in 0..LONG - EVERY {
        state = Accounts.evolve(state, &booked(n));
    }
    let bytes = serde_json::to_vec(&state).map_err(BenchError::command)?;
    let mut tx = db.begin().await?;
    snapshots
        .save(&mut tx, &Snapshot::new(stream.clone(), LONG - EVERY, 1, bytes))
        .await
        .map_err(BenchError::command)?;
    db.commit(tx).await?;
    Ok(())
}

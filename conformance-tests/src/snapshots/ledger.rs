//! The aggregate the snapshot scenarios run: a ledger whose fold depends on event order.

use pupsourcing::aggregate::{Decider, Loaded, Repository, SnapshotPolicy};
use pupsourcing::snapshot::{Snapshot, SnapshotStore};
use pupsourcing::typed::TypedStoreExt;
use pupsourcing::{Backend, Database, DomainEvent, EventStore, StreamId, Versions};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Amount {
    pub(crate) cents: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, DomainEvent)]
#[event(aggregate_type = "ledger")]
pub(crate) enum LedgerEvent {
    #[event(name = "Deposited")]
    Deposited(Amount),
    #[event(name = "Withdrawn")]
    Withdrawn(Amount),
}

/// The state: a balance, an entry count and a digest that changes with the order of events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Ledger {
    pub(crate) balance: u64,
    pub(crate) entries: u64,
    pub(crate) digest: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command {
    Deposit(u64),
    Withdraw(u64),
    Nothing,
}

#[derive(Debug, thiserror::Error)]
#[error("insufficient funds")]
pub(crate) struct Insufficient;

pub(crate) struct Ledgers;

impl Decider for Ledgers {
    type State = Ledger;
    type Event = LedgerEvent;
    type Command = Command;
    type Error = Insufficient;

    fn initial_state(&self) -> Ledger {
        Ledger::default()
    }

    fn evolve(&self, state: Ledger, event: &LedgerEvent) -> Ledger {
        let (balance, code) = match event {
            LedgerEvent::Deposited(amount) => (state.balance + amount.cents, amount.cents * 2),
            LedgerEvent::Withdrawn(amount) => (state.balance - amount.cents, amount.cents * 2 + 1),
        };
        Ledger {
            balance,
            entries: state.entries + 1,
            digest: state.digest.wrapping_mul(1_000_003).wrapping_add(code),
        }
    }

    fn decide(&self, state: &Ledger, command: &Command) -> Result<Vec<LedgerEvent>, Insufficient> {
        match *command {
            Command::Deposit(cents) => Ok(vec![LedgerEvent::Deposited(Amount { cents })]),
            Command::Withdraw(cents) if cents > state.balance => Err(Insufficient),
            Command::Withdraw(cents) => Ok(vec![LedgerEvent::Withdrawn(Amount { cents })]),
            Command::Nothing => Ok(vec![]),
        }
    }
}

pub(crate) type LedgerRepository<D, S> = Repository<D, S, Ledgers>;

/// A repository over `db` and `store`, without snapshots.
pub(crate) fn plain<D: Database, S: EventStore<D> + Clone>(
    db: &D,
    store: &S,
) -> LedgerRepository<D, S> {
    Repository::new(&Backend::from_parts(db.clone(), store.clone(), (), ()), Ledgers)
}

/// A repository over `db` and `store` with `snapshots` and `policy`.
pub(crate) fn snapshotting<D, S, Sn>(
    db: &D,
    store: &S,
    snapshots: &Sn,
    policy: SnapshotPolicy,
) -> LedgerRepository<D, S>
where
    D: Database,
    S: EventStore<D> + Clone,
    Sn: SnapshotStore<D> + Clone,
{
    plain(db, store).with_snapshots(snapshots.clone(), policy)
}

/// The stream's state after each of its versions, folded from every event (index 0: empty).
pub(crate) async fn states<D: Database, S: EventStore<D>>(
    db: &D,
    store: &S,
    stream: &StreamId,
) -> Vec<Ledger> {
    let mut tx = db.begin_read().await.expect("begin");
    let events = store.read_typed::<LedgerEvent>(&mut tx, stream, Versions::all()).await;
    db.rollback(tx).await.expect("rollback");
    let mut states = vec![Ledger::default()];
    for typed in events.expect("read") {
        let next = Ledgers.evolve(states[states.len() - 1].clone(), &typed.event);
        states.push(next);
    }
    states
}

/// Every snapshot of `stream`, newest first.
pub(crate) async fn all_snapshots<D: Database, Sn: SnapshotStore<D>>(
    db: &D,
    snapshots: &Sn,
    stream: &StreamId,
) -> Vec<Snapshot> {
    let mut tx = db.begin_read().await.expect("begin");
    let (mut found, mut below) = (Vec::new(), u64::MAX);
    while let Some(snapshot) = snapshots.latest(&mut tx, stream, below).await.expect("latest") {
        below = snapshot.stream_version - 1;
        found.push(snapshot);
        if below == 0 {
            break;
        }
    }
    db.rollback(tx).await.expect("rollback");
    found
}

/// Asserts that every snapshot of `stream` holds exactly the state a full replay gives at its
/// version, and that no snapshot lies beyond the stream's committed events.
pub(crate) fn assert_snapshots_match(snapshots: &[Snapshot], states: &[Ledger], what: &str) {
    for snapshot in snapshots {
        let version = usize::try_from(snapshot.stream_version).expect("fits");
        assert!(
            version < states.len(),
            "{what}: a snapshot at version {version} covers events that never committed (stream at {})",
            states.len() - 1
        );
        let state: Ledger = serde_json::from_slice(&snapshot.state).expect("a ledger");
        assert_eq!(state, states[version], "{what}: the snapshot at {version} is not the replay");
    }
}

/// Loads `stream` with `repository` in a read transaction.
pub(crate) async fn load<D: Database, S: EventStore<D> + Clone>(
    repository: &LedgerRepository<D, S>,
    stream: &StreamId,
) -> Loaded<Ledger> {
    repository.load_committed(stream).await.expect("load")
}

/// `count` fresh ledger streams.
pub(crate) fn streams(count: usize) -> Vec<StreamId> {
    (0..count)
        .map(|_| StreamId::new("ledger", crate::support::unique_stream("ledger").aggregate_id()))
        .collect()
}

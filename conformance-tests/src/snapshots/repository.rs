//! The aggregate repository with snapshots: never a wrong state, whatever the snapshots hold.

use std::sync::Arc;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use pupsourcing::aggregate::{CommandError, CommandRetry, SnapshotPolicy};
use pupsourcing::snapshot::{Snapshot, SnapshotStore};
use pupsourcing::{Database, StreamId};
use tokio::sync::Barrier;

use super::ledger::{
    Command, Ledger, all_snapshots, assert_snapshots_match, load, plain, snapshotting, states,
};
use crate::SnapshotsBackend;
use crate::support::unique_stream;

fn ledger_stream() -> StreamId {
    StreamId::new("ledger", unique_stream("ledger").aggregate_id())
}

async fn save<D: Database, Sn: SnapshotStore<D>>(db: &D, snapshots: &Sn, snapshot: Snapshot) {
    let mut tx = db.begin().await.expect("begin");
    snapshots.save(&mut tx, &snapshot).await.expect("save");
    db.commit(tx).await.expect("commit");
}

/// A snapshot of another state version is ignored even when its bytes would deserialize into
/// the current state type (here a plausible but wrong ledger), and so is one of the right
/// version that does not deserialize: both loads are full replays. The same snapshot is used
/// by code of its own state version, and new snapshots of the current version replace the
/// ignored ones.
pub async fn stale_snapshots_are_ignored_never_misread<B: SnapshotsBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let snapshots = backend.snapshot_store(&store);
    let stream = ledger_stream();
    let writer = plain(&db, &store);
    for cents in 1..=10 {
        writer.execute(&stream, &Command::Deposit(cents)).await.expect("deposit");
    }
    let replayed = load(&writer, &stream).await;
    assert_eq!((replayed.state.balance, replayed.version, replayed.snapshot), (55, 10, None));

    let wrong = Ledger { balance: 999_999, entries: 10, digest: 7 };
    let bytes = serde_json::to_vec(&wrong).expect("encode");
    save(&db, &snapshots, Snapshot::new(stream.clone(), 10, 1, bytes)).await;
    let old_code = snapshotting(&db, &store, &snapshots, SnapshotPolicy::never());
    let used = load(&old_code, &stream).await;
    assert_eq!((used.state, used.snapshot), (wrong, Some(10)), "the matching version is used");

    let new_code = snapshotting(&db, &store, &snapshots, SnapshotPolicy::every(1).state_version(2));
    for _ in 0..2 {
        let ignored = load(&new_code, &stream).await;
        assert_eq!(ignored.snapshot, None, "a stale snapshot was used");
        assert_eq!(ignored.state, replayed.state, "a stale snapshot changed the state");
    }

    save(&db, &snapshots, Snapshot::new(stream.clone(), 10, 2, b"{\"balance\":".to_vec())).await;
    let undecodable = load(&new_code, &stream).await;
    assert_eq!((undecodable.snapshot, &undecodable.state), (None, &replayed.state));

    new_code.execute(&stream, &Command::Deposit(5)).await.expect("deposit");
    let fresh = load(&new_code, &stream).await;
    assert_eq!((fresh.snapshot, fresh.version, fresh.state.balance), (Some(11), 11, 60));
    assert_eq!(fresh.replayed(), 0);
    assert_eq!(fresh.state, states(&db, &store, &stream).await[11]);
}

#[derive(Debug, Clone)]
struct Case {
    commands: Vec<Command>,
    policy: SnapshotPolicy,
}

fn cases() -> impl Strategy<Value = Case> {
    let command = prop_oneof![
        4 => (1u64..100).prop_map(Command::Deposit),
        2 => (1u64..150).prop_map(Command::Withdraw),
        1 => Just(Command::Nothing),
    ];
    let policy = prop_oneof![
        (1u64..8).prop_map(SnapshotPolicy::every),
        (0u64..8).prop_map(SnapshotPolicy::when_replay_exceeds),
    ];
    (prop::collection::vec(command, 0..40), policy)
        .prop_map(|(commands, policy)| Case { commands, policy })
}

/// Random command sequences under random policies: after every command, the load from the
/// newest snapshot and the events after it equals the full replay (state and version), a
/// refused or empty command writes nothing, and every snapshot stored is exactly the replay's
/// state at its version.
pub async fn snapshot_and_tail_equal_a_full_replay<B: SnapshotsBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let snapshots = backend.snapshot_store(&store);
    let full = plain(&db, &store);
    let mut runner = TestRunner::deterministic();
    let strategy = cases();
    for case in 0..12 {
        let Case { commands, policy } = strategy.new_tree(&mut runner).expect("generate").current();
        let what = format!("case {case} ({policy:?})");
        let stream = ledger_stream();
        let repository = snapshotting(&db, &store, &snapshots, policy);
        for (step, command) in commands.iter().enumerate() {
            let before = load(&full, &stream).await;
            match repository.execute(&stream, command).await {
                Ok(_) | Err(CommandError::Domain(_)) => {}
                Err(err) => panic!("{what}, step {step}: {err}"),
            }
            let expected = load(&full, &stream).await;
            if matches!(command, Command::Nothing) {
                assert_eq!(expected.version, before.version, "{what}: an empty decision appended");
            }
            let loaded = load(&repository, &stream).await;
            assert_eq!(
                (&loaded.state, loaded.version),
                (&expected.state, expected.version),
                "{what}, step {step}: the snapshot load differs from the full replay"
            );
            assert!(loaded.snapshot.is_none_or(|at| at <= loaded.version));
        }
        let stored = all_snapshots(&db, &snapshots, &stream).await;
        assert_snapshots_match(&stored, &states(&db, &store, &stream).await, &what);
        let version = load(&full, &stream).await.version;
        if let pupsourcing::aggregate::SnapshotFrequency::Every(n) = policy.frequency {
            assert_eq!(
                u64::try_from(stored.len()).expect("fits"),
                version / n,
                "{what}: one snapshot per multiple of {n} up to {version}"
            );
        }
    }
}

const TASKS: u64 = 8;
const COMMANDS: u64 = 6;

/// Eight tasks deposit on one aggregate at once with a snapshot every two versions, in the
/// commands' transactions: no deposit is lost or applied twice, every snapshot is the replay's
/// state at its version, and a command whose transaction rolls back leaves no snapshot of the
/// version it would have written.
pub async fn concurrent_commands_with_snapshots_lose_nothing<B: SnapshotsBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let snapshots = backend.snapshot_store(&store);
    let stream = ledger_stream();
    let retry = CommandRetry { attempts: 500, ..CommandRetry::default() };
    let repository =
        Arc::new(snapshotting(&db, &store, &snapshots, SnapshotPolicy::every(2)).with_retry(retry));
    let barrier = Arc::new(Barrier::new(usize::try_from(TASKS).expect("fits")));
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (repository, stream, barrier) =
                (Arc::clone(&repository), stream.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                for _ in 0..COMMANDS {
                    let executed = repository.execute(&stream, &Command::Deposit(1)).await;
                    let executed = executed.unwrap_or_else(|err| panic!("deposit failed: {err}"));
                    assert!(executed.appended.is_some() && !executed.already_applied);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    let total = TASKS * COMMANDS;
    let loaded = load(&repository, &stream).await;
    assert_eq!((loaded.version, loaded.state.balance, loaded.state.entries), (total, total, total));
    assert_eq!(loaded.snapshot, Some(total), "the last even version was snapshotted");
    let replay = states(&db, &store, &stream).await;
    assert_eq!(loaded.state, replay[replay.len() - 1]);
    let stored = all_snapshots(&db, &snapshots, &stream).await;
    assert_snapshots_match(&stored, &replay, "concurrent commands");
    assert_eq!(
        u64::try_from(stored.len()).expect("fits"),
        total / 2,
        "one snapshot per even version"
    );

    let every = snapshotting(&db, &store, &snapshots, SnapshotPolicy::every(1));
    let mut tx = db.begin().await.expect("begin");
    let executed = every.execute_in(&mut tx, &stream, &Command::Deposit(100)).await.expect("run");
    assert_eq!(executed.version, total + 1);
    db.rollback(tx).await.expect("rollback");
    let after = all_snapshots(&db, &snapshots, &stream).await;
    assert_eq!(after[0].stream_version, total, "a rolled back command left its snapshot");
    assert_eq!(load(&every, &stream).await.state, loaded.state);
}

/// An idempotent command run again after a snapshot covered its events is recognised as
/// applied, whether it would now be refused (a withdrawal the balance no longer allows),
/// decide nothing, or decide the same events again.
pub async fn idempotent_commands_are_recognised_behind_a_snapshot<B: SnapshotsBackend>(
    backend: &B,
) {
    let (db, store) = backend.fresh_store().await;
    let snapshots = backend.snapshot_store(&store);
    let stream = ledger_stream();
    let repository = snapshotting(&db, &store, &snapshots, SnapshotPolicy::every(1));
    let (withdrawal, deposit) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    repository.execute(&stream, &Command::Deposit(10)).await.expect("deposit");
    let first = repository.execute_idempotent(&stream, withdrawal, &Command::Withdraw(10)).await;
    assert!(!first.expect("withdraw").already_applied);
    let second = repository.execute_idempotent(&stream, deposit, &Command::Deposit(3)).await;
    assert!(!second.expect("deposit").already_applied);
    assert_eq!(load(&repository, &stream).await.snapshot, Some(3), "all covered by a snapshot");

    for (id, command) in [
        (withdrawal, Command::Withdraw(10)),
        (withdrawal, Command::Nothing),
        (deposit, Command::Deposit(3)),
    ] {
        let again = repository.execute_idempotent(&stream, id, &command).await;
        let again = again.unwrap_or_else(|err| panic!("{command:?} again: {err}"));
        assert!(again.already_applied && again.appended.is_none(), "{command:?}: {again:?}");
        assert_eq!(again.version, 3);
    }
    let refused = repository.execute(&stream, &Command::Withdraw(10)).await;
    assert!(
        matches!(refused, Err(CommandError::Domain(_))),
        "a new command is decided: {refused:?}"
    );
    assert_eq!(load(&plain(&db, &store), &stream).await.state.balance, 3);
}

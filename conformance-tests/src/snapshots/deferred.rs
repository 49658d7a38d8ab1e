//! Snapshots written by the snapshot consumer, after the commands.

use std::time::Duration;

use pupsourcing::aggregate::SnapshotPolicy;
use pupsourcing::{Admin, Backend, Worker};
use tokio::sync::oneshot;

use super::ledger::{Command, all_snapshots, assert_snapshots_match, load, snapshotting, states};
use crate::SnapshotsBackend;
use crate::worker::support::fast_config;

/// With deferred snapshots, commands write none; the snapshot consumer, run by a worker, writes
/// one per stream at the last multiple of the interval each batch reached, each the replay's
/// state at its version; loads then start from them.
pub async fn deferred_snapshots_follow_the_worker<B: SnapshotsBackend>(backend: &B) {
    let env = backend.fresh_worker().await;
    let snapshots = backend.snapshot_store(&env.store);
    let repository =
        snapshotting(&env.db, &env.store, &snapshots, SnapshotPolicy::every(5).deferred());
    let streams = super::ledger::streams(2);
    for cents in 1..=23 {
        for stream in &streams {
            repository.execute(stream, &Command::Deposit(cents)).await.expect("deposit");
        }
    }
    for stream in &streams {
        assert!(all_snapshots(&env.db, &snapshots, stream).await.is_empty(), "a command wrote one");
    }

    let backend_handle =
        Backend::from_parts(env.db.clone(), env.store.clone(), env.coordinator.clone(), ());
    let worker = Worker::builder(&backend_handle)
        .config(fast_config("snapshots-1"))
        .consumer(repository.snapshot_consumer("ledger-snapshots"))
        .build()
        .expect("worker");
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    Admin::new(&backend_handle)
        .wait_caught_up("ledger-snapshots", Duration::from_secs(30))
        .await
        .expect("the snapshot consumer caught up");
    let _ = stop.send(());
    running.await.expect("worker task").expect("worker");

    for stream in &streams {
        let stored = all_snapshots(&env.db, &snapshots, stream).await;
        assert!(!stored.is_empty(), "the consumer wrote no snapshot");
        assert_eq!(stored[0].stream_version, 20, "the newest is at the last multiple of 5");
        assert!(stored.iter().all(|s| s.stream_version % 5 == 0), "{stored:?}");
        assert_snapshots_match(&stored, &states(&env.db, &env.store, stream).await, "deferred");
        let loaded = load(&repository, stream).await;
        assert_eq!((loaded.snapshot, loaded.version, loaded.replayed()), (Some(20), 23, 3));
        assert_eq!(loaded.state.balance, (1..=23).sum::<u64>());
    }
}

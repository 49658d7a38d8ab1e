//! Workers reading while writers commit late or roll back.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pupsourcing::{Database, EventStore, ExpectedVersion, PersistedEvent};

use crate::WorkerBackend;
use crate::support::{Rng, event};
use crate::worker::support::{Node, Recorder, assert_exactly_once, shared, streams};

/// Eight writers with random commit delays and 20 % rollbacks while two nodes consume: every
/// committed event is handled exactly once, each stream in version order, and no rolled-back
/// event is handled.
pub async fn late_commits_and_rollbacks_are_consumed_exactly_once<B: WorkerBackend>(backend: &B) {
    let env = backend.fresh_worker().await;
    let ledger = Recorder::new("ledger", &env.projection).with_partitions(3);
    let audit = Recorder::new("audit", &env.projection);
    let consumers = |ledger: &Recorder<B::Db, B::Projection>,
                     audit: &Recorder<B::Db, B::Projection>| {
        vec![shared(ledger.twin()), Arc::new(audit.twin())]
    };
    let nodes = [
        Node::start::<B>(&env, "x", consumers(&ledger, &audit)),
        Node::start::<B>(&env, "y", consumers(&ledger, &audit)),
    ];
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..8u64)
        .map(|seed| {
            let (db, store, stop) = (env.db.clone(), env.store.clone(), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut rng = Rng::new(seed + 11);
                let pool = streams("late", 3);
                let (mut committed, mut rolled_back): (Vec<PersistedEvent>, HashSet<uuid::Uuid>) =
                    (Vec::new(), HashSet::new());
                while !stop.load(Ordering::Relaxed) {
                    let stream = &pool[usize::try_from(rng.below(3)).expect("small")];
                    let batch = vec![event(stream, "a"), event(stream, "b")];
                    let mut tx = db.begin().await.expect("begin");
                    let appended =
                        store.append(&mut tx, ExpectedVersion::Any, batch).await.expect("append");
                    tokio::time::sleep(Duration::from_micros(rng.below(5_000))).await;
                    if rng.below(5) == 0 {
                        db.rollback(tx).await.expect("rollback");
                        rolled_back.extend(appended.events().iter().map(|e| e.event.event_id));
                    } else {
                        db.commit(tx).await.expect("commit");
                        committed.extend(appended.into_events());
                    }
                }
                (committed, rolled_back)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    let (mut committed, mut rolled_back) = (Vec::new(), HashSet::new());
    for writer in writers {
        let (ok, undone) = writer.await.expect("writer");
        committed.extend(ok);
        rolled_back.extend(undone);
    }
    for name in ["ledger", "audit"] {
        assert_exactly_once(&env.db, &env.projection, name, &committed, Duration::from_secs(40))
            .await;
        let seen: HashSet<uuid::Uuid> = env.projection_ids(name).await.into_iter().collect();
        assert!(seen.is_disjoint(&rolled_back), "{name} handled a rolled-back event");
    }
    assert!(!rolled_back.is_empty());
    for node in nodes {
        node.shutdown().await;
    }
}

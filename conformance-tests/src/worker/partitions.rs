//! Partitioned consumers and changing their partition count.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pupsourcing::spi::{
    Assignments, Batches, Claim, ConsumerSpec, Leadership, Operations, Plan, StartTransition,
};
use pupsourcing::{Database, UnitId};

use crate::WorkerBackend;
use crate::worker::support::{
    Node, Recorder, assert_exactly_once, eventually, shared, streams, write_events,
};

const PATIENCE: Duration = Duration::from_secs(40);

/// A consumer with 4 partitions over 3 nodes, redeployed with 8 while events flow: the old
/// partitions drain to a common position, the new ones start there, and every event is handled
/// exactly once, each stream in order.
pub async fn partitioned_consumer_repartitions_without_skip_or_duplicate<B: WorkerBackend>(
    backend: &B,
) {
    let env = backend.fresh_worker().await;
    let split = Recorder::new("split", &env.projection).with_partitions(4);
    let stop = Arc::new(AtomicBool::new(false));
    let flow = {
        let (db, store, stop) = (env.db.clone(), env.store.clone(), Arc::clone(&stop));
        tokio::spawn(async move {
            let pool = streams("part", 24);
            let mut written = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                written.extend(write_events(&db, &store, &pool, 6).await);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            written
        })
    };
    let old: Vec<Node> = ["a", "b", "c"]
        .into_iter()
        .map(|id| Node::start::<B>(&env, id, vec![shared(split.twin())]))
        .collect();
    eventually("4 partitions assigned", PATIENCE, || async {
        let status = env.coordinator.status().await.expect("status");
        status.len() == 4 && status.iter().all(|s| s.owner.is_some())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let new: Vec<Node> = ["d", "e", "f"]
        .into_iter()
        .map(|id| Node::start::<B>(&env, id, vec![shared(split.repartitioned(8))]))
        .collect();
    for node in old {
        node.shutdown().await;
    }
    eventually("8 partitions assigned and the old 4 gone", PATIENCE, || async {
        let status = env.coordinator.status().await.expect("status");
        status.len() == 8 && status.iter().all(|s| s.unit.partitions == 8 && s.owner.is_some())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    let written = flow.await.expect("writer");
    assert_exactly_once(&env.db, &env.projection, "split", &written, PATIENCE).await;
    for node in new {
        node.shutdown().await;
    }
}

/// The drain position of a repartitioning is never below a checkpoint an old partition already
/// committed, even when the leader planned it from an older reading: the coordinator raises it
/// in the transaction that sets it.
pub async fn repartition_drain_never_falls_below_a_checkpoint<B: WorkerBackend>(backend: &B) {
    let env = backend.fresh_worker().await;
    let coordinator = &env.coordinator;
    let lease = coordinator
        .acquire_lease("leader", Duration::from_secs(60))
        .await
        .expect("lease")
        .expect("free lease");
    let create = Plan {
        create: vec![ConsumerSpec { name: "p".into(), partitions: 2 }],
        assign: vec![
            (UnitId::new("p", 2, 0), Some("n".into())),
            (UnitId::new("p", 2, 1), Some("n".into())),
        ],
        ..Plan::default()
    };
    assert!(coordinator.apply_plan(&lease, &create).await.expect("apply"));
    for assignment in coordinator.assignments_of("n").await.expect("assignments") {
        let mut tx = env.db.begin().await.expect("begin");
        let claim = coordinator
            .begin_batch(&mut tx, &assignment.unit, "n", assignment.epoch)
            .await
            .expect("claim");
        assert!(
            matches!(claim, Claim::Ready { checkpoint: 0, upto: None, skip: None }),
            "{claim:?}"
        );
        let checkpoint = if assignment.unit.partition == 0 { 5 } else { 9 };
        let moved = coordinator
            .commit_batch(&mut tx, &assignment.unit, "n", assignment.epoch, checkpoint)
            .await;
        assert!(moved.expect("commit batch"));
        env.db.commit(tx).await.expect("commit");
    }
    let start = Plan {
        start_transitions: vec![StartTransition {
            consumer: "p".into(),
            from_partitions: 2,
            to_partitions: 3,
            drain_position: 3,
        }],
        ..Plan::default()
    };
    assert!(coordinator.apply_plan(&lease, &start).await.expect("apply"));
    let topology = coordinator.topology().await.expect("topology");
    let transition = topology.consumers[0].transition.expect("a transition in progress");
    assert_eq!(transition.drain_position, 9, "the drain must be raised to the highest checkpoint");
    let status = coordinator.status().await.expect("status");
    assert!(status.iter().all(|s| s.upto == Some(9)), "{status:?}");
    let mut tx = env.db.begin().await.expect("begin");
    let reset = coordinator.reset_checkpoints(&mut tx, "p", 0).await;
    assert!(matches!(reset, Err(pupsourcing::WorkerError::Repartitioning(_))), "{reset:?}");
    env.db.rollback(tx).await.expect("rollback");

    let stale = pupsourcing::spi::Lease { node_id: "leader".into(), epoch: lease.epoch + 1 };
    assert!(
        !coordinator.apply_plan(&stale, &Plan::default()).await.expect("apply"),
        "a wrong epoch must be refused"
    );
    coordinator.release_lease(&lease).await.expect("release");
    assert!(
        !coordinator.apply_plan(&lease, &Plan::default()).await.expect("apply"),
        "a released lease must be refused"
    );
}

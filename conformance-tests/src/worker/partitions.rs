//! Partitioned consumers and changing their partition count.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pupsourcing::Coordinator;

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

//! Several nodes: scaling, crashes, fencing and hand-over.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pupsourcing::spi::{Assignments, Membership, Operations};
use pupsourcing::{Consumer, Database, EventStore, PersistedEvent};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

use crate::WorkerBackend;
use crate::worker::support::{
    Env, Node, Recorder, RecorderOf, assert_exactly_once, eventually, shared, streams, write_events,
};

const PATIENCE: Duration = Duration::from_secs(40);

/// Appends events until told to stop; returns them.
fn writer<D: Database, S: EventStore<D> + Clone>(
    db: &D,
    store: &S,
    stop: &Arc<AtomicBool>,
) -> JoinHandle<Vec<PersistedEvent>> {
    let (db, store, stop) = (db.clone(), store.clone(), Arc::clone(stop));
    tokio::spawn(async move {
        let pool = streams("flow", 16);
        let mut written = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            written.extend(write_events(&db, &store, &pool, 4).await);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        written
    })
}

/// Waits until every unit has a live owner and no owner exceeds the fair share.
async fn settled<B: WorkerBackend>(env: &Env<B>, live: &[&Node], units: usize) {
    let live_ids: Vec<&str> = live.iter().map(|n| n.id.as_str()).collect();
    let capacity = units.div_ceil(live.len());
    eventually(&format!("{units} units spread over {live_ids:?}"), PATIENCE, || async {
        let status = env.coordinator.status().await.expect("status");
        let current: Vec<_> = status.iter().filter(|s| s.upto.is_none()).collect();
        let mut load: BTreeMap<&str, usize> = BTreeMap::new();
        for unit in &current {
            match unit.owner.as_deref() {
                Some(owner) if live_ids.contains(&owner) => *load.entry(owner).or_default() += 1,
                _ => return false,
            }
        }
        current.len() == units && load.values().all(|l| *l <= capacity)
    })
    .await;
}

fn recorders<B: WorkerBackend>(env: &Env<B>) -> (RecorderOf<B>, RecorderOf<B>) {
    (
        Recorder::new("wide", &env.projection).with_partitions(8),
        Recorder::new("narrow", &env.projection),
    )
}

fn pair<B: WorkerBackend>(
    wide: &RecorderOf<B>,
    narrow: &RecorderOf<B>,
) -> Vec<Arc<dyn Consumer<B::Db>>> {
    vec![Arc::new(wide.twin()), Arc::new(narrow.twin())]
}

/// Scaling from 1 to 2, 3 and 5 nodes and back down to 1 while events flow: every unit stays
/// within the fair share after each step, and every consumer handles every event exactly once.
pub async fn scaling_up_and_down_keeps_exactly_once<B: WorkerBackend>(backend: &B) {
    let env = backend.fresh_worker().await;
    let (wide, narrow) = recorders::<B>(&env);
    let stop = Arc::new(AtomicBool::new(false));
    let flow = writer(&env.db, &env.store, &stop);
    let mut nodes = vec![Node::start::<B>(&env, "n1", pair::<B>(&wide, &narrow))];
    settled::<B>(&env, &nodes.iter().collect::<Vec<_>>(), 9).await;
    for id in ["n2", "n3", "n4", "n5"] {
        nodes.push(Node::start::<B>(&env, id, pair::<B>(&wide, &narrow)));
        if id != "n4" {
            settled::<B>(&env, &nodes.iter().collect::<Vec<_>>(), 9).await;
        }
    }
    while nodes.len() > 1 {
        let leaving = nodes.pop().expect("node");
        leaving.shutdown().await;
        settled::<B>(&env, &nodes.iter().collect::<Vec<_>>(), 9).await;
    }
    stop.store(true, Ordering::Relaxed);
    let written = flow.await.expect("writer");
    assert_exactly_once(&env.db, &env.projection, "wide", &written, PATIENCE).await;
    assert_exactly_once(&env.db, &env.projection, "narrow", &written, PATIENCE).await;
    for node in nodes {
        node.shutdown().await;
    }
}

/// A node that dies without shutting down: the survivor takes its units over once its
/// heartbeat times out, and no event is lost or handled twice.
pub async fn killed_node_is_replaced_without_loss_or_duplicates<B: WorkerBackend>(backend: &B) {
    let env = backend.fresh_worker().await;
    let (wide, narrow) = recorders::<B>(&env);
    let stop = Arc::new(AtomicBool::new(false));
    let flow = writer(&env.db, &env.store, &stop);
    let doomed = Node::start::<B>(&env, "doomed", pair::<B>(&wide, &narrow));
    let survivor = Node::start::<B>(&env, "survivor", pair::<B>(&wide, &narrow));
    settled::<B>(&env, &[&doomed, &survivor], 9).await;
    let killed = Instant::now();
    doomed.kill().await;
    settled::<B>(&env, &[&survivor], 9).await;
    let failover = killed.elapsed();
    stop.store(true, Ordering::Relaxed);
    let written = flow.await.expect("writer");
    assert_exactly_once(&env.db, &env.projection, "wide", &written, PATIENCE).await;
    assert_exactly_once(&env.db, &env.projection, "narrow", &written, PATIENCE).await;
    eprintln!("failover after a crash: {failover:?} (heartbeat timeout 400 ms, lease 400 ms)");
    survivor.shutdown().await;
}

/// A node whose unit is taken away while it is in the middle of a batch cannot commit that
/// batch: the batch rolls back and the events are handled once, by the unit's new incarnation.
/// (On a single-writer backend the move waits for the batch, so the owner commits legitimately
/// first.)
pub async fn deposed_owner_cannot_commit<B: WorkerBackend>(backend: &B) {
    let env = backend.fresh_worker().await;
    let solo = Recorder::new("fenced", &env.projection);
    let behaviour = Arc::clone(&solo.behaviour);
    let written = write_events(&env.db, &env.store, &streams("box", 2), 3).await;
    let (entered, inside) = oneshot::channel();
    let release = Arc::new(Notify::new());
    behaviour.hold(written[1].event.event_id, entered, Arc::clone(&release));
    let node = Node::start::<B>(&env, "owner", vec![shared(solo)]);
    inside.await.expect("the batch reached the held event");

    let coordinator = env.coordinator.clone();
    let moved = tokio::spawn(async move { coordinator.release_units("owner").await });
    if backend.capabilities().single_writer {
        release.notify_one();
        moved.await.expect("task").expect("release units");
    } else {
        moved.await.expect("task").expect("release units");
        release.notify_one();
    }
    assert_exactly_once(&env.db, &env.projection, "fenced", &written, PATIENCE).await;
    let first = behaviour.calls_for(written[0].event.event_id);
    if backend.capabilities().single_writer {
        assert_eq!(first, 1, "the batch committed before the move");
    } else {
        assert_eq!(first, 2, "the deposed batch must have been rolled back and redone");
    }
    node.shutdown().await;
}

/// A graceful shutdown releases the node's units and deregisters it before returning, so the
/// other nodes take over at once instead of waiting for a heartbeat timeout.
pub async fn graceful_shutdown_hands_units_over_at_once<B: WorkerBackend>(backend: &B) {
    let env = backend.fresh_worker().await;
    let (wide, narrow) = recorders::<B>(&env);
    let leaving = Node::start::<B>(&env, "leaving", pair::<B>(&wide, &narrow));
    let staying = Node::start::<B>(&env, "staying", pair::<B>(&wide, &narrow));
    settled::<B>(&env, &[&leaving, &staying], 9).await;
    leaving.shutdown().await;
    let status = env.coordinator.status().await.expect("status");
    assert!(
        status.iter().all(|s| s.owner.as_deref() != Some("leaving")),
        "units still held after shutdown"
    );
    let live = env.coordinator.live_nodes(Duration::from_secs(60)).await.expect("live nodes");
    assert!(live.iter().all(|n| n.info.node_id != "leaving"), "the node must deregister");
    settled::<B>(&env, &[&staying], 9).await;
    let written = write_events(&env.db, &env.store, &streams("after", 4), 20).await;
    assert_exactly_once(&env.db, &env.projection, "narrow", &written, PATIENCE).await;
    staying.shutdown().await;
}

/// The operator's view of nodes: every registered node with its heartbeat's age (live or not),
/// the leader flagged while its lease lasts, and a node that left gone.
pub async fn nodes_show_heartbeats_and_the_leader<B: WorkerBackend>(backend: &B) {
    use pupsourcing::spi::{ConsumerSpec, Leadership, NodeInfo};
    let env = backend.fresh_worker().await;
    let coordinator = &env.coordinator;
    assert!(coordinator.nodes().await.expect("nodes").is_empty());
    for (id, consumer) in [("node-b", "billing"), ("node-a", "search")] {
        let info = NodeInfo {
            node_id: id.to_owned(),
            consumers: vec![ConsumerSpec { name: consumer.to_owned(), partitions: 2 }],
            version: "1.2.3".to_owned(),
        };
        coordinator.heartbeat(&info).await.expect("heartbeat");
    }
    let lease = coordinator
        .acquire_lease("node-b", Duration::from_secs(60))
        .await
        .expect("lease")
        .expect("a free lease is taken");
    let nodes = coordinator.nodes().await.expect("nodes");
    let ids: Vec<&str> = nodes.iter().map(|n| n.node.info.node_id.as_str()).collect();
    assert_eq!(ids, ["node-a", "node-b"], "{nodes:?}");
    assert_eq!(nodes.iter().map(|n| n.leader).collect::<Vec<_>>(), [false, true], "{nodes:?}");
    assert_eq!(nodes[0].node.info.consumers[0].name, "search");
    assert_eq!(nodes[1].node.info.version, "1.2.3");
    assert!(nodes.iter().all(|n| n.heartbeat_age < Duration::from_secs(30)), "{nodes:?}");

    coordinator.release_lease(&lease).await.expect("release");
    coordinator.leave("node-a").await.expect("leave");
    let nodes = coordinator.nodes().await.expect("nodes");
    assert_eq!(nodes.len(), 1, "{nodes:?}");
    assert!(!nodes[0].leader, "a released lease has no holder: {nodes:?}");
}

//! One node: filtering, failures and pauses, atomic batches, restarts, rewinds and rebuilds.

use std::sync::Arc;
use std::time::Duration;

use pupsourcing::{
    Admin, Consumer, Database, EventFilter, EventStore, ExpectedVersion, PersistedEvent, StreamId,
};

use crate::worker::support::{
    Node, Recorder, assert_exactly_once, eventually, shared, streams, units_of, write_events,
};
use crate::{Projection, WorkerBackend};

const PATIENCE: Duration = Duration::from_secs(30);

fn matching(events: &[PersistedEvent], filter: &EventFilter) -> Vec<PersistedEvent> {
    events.iter().filter(|e| filter.matches(&e.event)).cloned().collect()
}

/// One node with scoped and unscoped consumers: each records exactly the events its filter
/// selects, written before and after it started, and every checkpoint reaches the frontier.
pub async fn one_node_runs_scoped_and_unscoped_consumers<B: WorkerBackend>(backend: &B) {
    let env = backend.fresh_worker().await;
    let mut pool = streams("order", 3);
    pool.extend(streams("user", 2));
    pool.push(StreamId::new("order", uuid::Uuid::new_v4().to_string()).in_context("sales"));
    pool.push(StreamId::new("invoice", uuid::Uuid::new_v4().to_string()).in_context("sales"));
    let all = Recorder::new("all", &env.projection);
    let orders = Recorder::new("orders", &env.projection)
        .with_filter(EventFilter::all().aggregate_types(["order"]));
    let sales = Recorder::new("sales", &env.projection)
        .with_filter(EventFilter::all().bounded_contexts(["sales"]));
    let filters = [("all", all.filter()), ("orders", orders.filter()), ("sales", sales.filter())];

    let mut written = write_events(&env.db, &env.store, &pool, 40).await;
    let consumers: Vec<Arc<dyn Consumer<B::Db>>> =
        vec![Arc::new(all), Arc::new(orders), Arc::new(sales)];
    let node = Node::start::<B>(&env, "solo", consumers);
    written.extend(write_events(&env.db, &env.store, &pool, 40).await);
    for (name, filter) in &filters {
        assert_exactly_once(&env.db, &env.projection, name, &matching(&written, filter), PATIENCE)
            .await;
    }
    let admin = Admin::new(&env.backend());
    eventually("every checkpoint at the frontier", PATIENCE, || async {
        let status = admin.status().await.expect("status");
        status.len() == 3
            && status.iter().all(|s| s.lag == 0 && s.unit.owner.as_deref() == Some("solo"))
    })
    .await;
    node.shutdown().await;
}

/// A handler failing on one event: its unit retries, then pauses with the error and the failing
/// position recorded, while other consumers go on. Skipping the event resumes it without that
/// event; a later failure healed and resumed by an operator is handled.
pub async fn failing_handler_pauses_only_its_unit<B: WorkerBackend>(backend: &B) {
    let env = backend.fresh_worker().await;
    let pool = streams("account", 4);
    let fragile = Recorder::new("fragile", &env.projection);
    let steady = Recorder::new("steady", &env.projection);
    let behaviour = Arc::clone(&fragile.behaviour);
    let written = write_events(&env.db, &env.store, &pool, 40).await;
    let poisoned = written[30].clone();
    behaviour.poison(poisoned.event.event_id);
    let consumers: Vec<Arc<dyn Consumer<B::Db>>> = vec![Arc::new(fragile), Arc::new(steady)];
    let node = Node::start::<B>(&env, "solo", consumers);
    let admin = Admin::new(&env.backend());

    assert_exactly_once(&env.db, &env.projection, "steady", &written, PATIENCE).await;
    eventually("the failing unit to pause", PATIENCE, || async {
        units_of(&env.coordinator_status().await, "fragile")
            .first()
            .is_some_and(|u| u.paused && u.attempts >= 3)
    })
    .await;
    let status = env.coordinator_status().await;
    let unit = status.iter().find(|s| s.unit.consumer == "fragile").expect("unit");
    assert_eq!(unit.failed_position, Some(poisoned.global_position));
    assert!(unit.last_error.as_deref().is_some_and(|e| e.contains("poisoned event")), "{unit:?}");
    let recorded = env.projection_ids("fragile").await;
    assert!(!recorded.contains(&poisoned.event.event_id));

    let skipped = admin.skip_failed_event("fragile", None).await.expect("skip");
    assert_eq!(skipped, vec![poisoned.global_position]);
    let without: Vec<PersistedEvent> =
        written.iter().filter(|e| e.global_position != poisoned.global_position).cloned().collect();
    assert_exactly_once(&env.db, &env.projection, "fragile", &without, PATIENCE).await;

    let doomed = pupsourcing::Event::new(&pool[0], "Happened", b"doomed".to_vec());
    behaviour.poison(doomed.event_id);
    let mut later = write_events(&env.db, &env.store, &pool, 2).await;
    later.extend(
        env.store
            .append_committed(&env.db, ExpectedVersion::Any, vec![doomed])
            .await
            .expect("append")
            .into_events(),
    );
    later.extend(write_events(&env.db, &env.store, &pool, 2).await);
    eventually("the second failure to pause the unit", PATIENCE, || async {
        env.coordinator_status().await.iter().any(|s| s.unit.consumer == "fragile" && s.paused)
    })
    .await;
    behaviour.heal(later[2].event.event_id);
    assert_eq!(admin.resume("fragile", None).await.expect("resume"), 1);
    let mut everything = without;
    everything.extend(later);
    assert_exactly_once(&env.db, &env.projection, "fragile", &everything, PATIENCE).await;
    node.shutdown().await;
}

/// A restarted node resumes from the checkpoint (nothing handled twice); a rewind replays; a
/// rebuild clears the read model through the consumer's hook and replays, in one transaction.
pub async fn restart_resumes_and_rewind_and_rebuild_replay<B: WorkerBackend>(backend: &B) {
    let env = backend.fresh_worker().await;
    let pool = streams("ledger", 3);
    let replay = Recorder::new("replay", &env.projection);
    let behaviour = Arc::clone(&replay.behaviour);
    let mut written = write_events(&env.db, &env.store, &pool, 20).await;
    let first = Node::start::<B>(&env, "first", vec![shared(replay.twin())]);
    assert_exactly_once(&env.db, &env.projection, "replay", &written, PATIENCE).await;
    first.shutdown().await;

    written.extend(write_events(&env.db, &env.store, &pool, 10).await);
    let second = Node::start::<B>(&env, "second", vec![shared(replay.twin())]);
    assert_exactly_once(&env.db, &env.projection, "replay", &written, PATIENCE).await;
    assert!(
        written.iter().all(|e| behaviour.calls_for(e.event.event_id) == 1),
        "a restart must not replay"
    );
    second.shutdown().await;

    let mut tx = env.db.begin().await.expect("begin");
    env.projection.clear(&mut tx, "replay").await.expect("clear");
    env.db.commit(tx).await.expect("commit");
    let admin = Admin::new(&env.backend());
    admin.rewind("replay", 0).await.expect("rewind");
    let third = Node::start::<B>(&env, "third", vec![shared(replay.twin())]);
    assert_exactly_once(&env.db, &env.projection, "replay", &written, PATIENCE).await;
    eventually("the replay to reach every event", PATIENCE, || async {
        written.iter().all(|e| behaviour.calls_for(e.event.event_id) == 2)
    })
    .await;

    admin.rebuild(&replay).await.expect("rebuild");
    assert_eq!(behaviour.resets(), 1);
    eventually("the rebuild to replay every event", PATIENCE, || async {
        written.iter().all(|e| behaviour.calls_for(e.event.event_id) == 3)
    })
    .await;
    assert_exactly_once(&env.db, &env.projection, "replay", &written, PATIENCE).await;
    assert!(matches!(
        admin.rewind("nobody", 0).await,
        Err(pupsourcing::WorkerError::UnknownConsumer(_))
    ));
    third.shutdown().await;
}

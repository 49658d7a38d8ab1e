//! A unit that cannot make progress stops right before the cause, shows why in its status, and
//! can be moved past it by an operator; transient failures never pause it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use pupsourcing::spi::{Batches, FailureReport};
use pupsourcing::{
    Admin, Event, EventStore, ExpectedVersion, PauseRule, PersistedEvent, WorkerError,
};

use crate::WorkerBackend;
use crate::worker::support::{
    Node, Recorder, assert_exactly_once, eventually, fast_config, shared, streams, units_of,
    write_events,
};

const PATIENCE: Duration = Duration::from_secs(30);

/// With 20 good events, a poison event and 20 more in one batch, the unit commits the 20 before
/// the poison and pauses on it alone: checkpoint right before it, its position recorded, none of
/// its batch's writes kept twice. Skipping it lets the 20 after it through, each exactly once.
pub async fn poison_event_stops_its_unit_right_before_it<B: WorkerBackend>(backend: &B) {
    let env = backend.fresh_worker().await;
    let pool = streams("cart", 3);
    let consumer = Recorder::new("strict", &env.projection);
    let behaviour = Arc::clone(&consumer.behaviour);
    let written = write_events(&env.db, &env.store, &pool, 41).await;
    let poison = written[20].clone();
    behaviour.poison(poison.event.event_id);
    // The default first batch (25 events) holds all 20 good events and the poison.
    let node = Node::start::<B>(&env, "solo", vec![shared(consumer)]);
    eventually("the unit to pause on the poison", PATIENCE, || async {
        units_of(&env.coordinator_status().await, "strict").first().is_some_and(|u| u.paused)
    })
    .await;
    let unit = units_of(&env.coordinator_status().await, "strict").remove(0);
    assert_eq!(unit.failed_position, Some(poison.global_position), "{unit:?}");
    assert!(
        unit.checkpoint >= written[19].global_position && unit.checkpoint < poison.global_position,
        "the checkpoint must stop right before the poison: {unit:?}"
    );
    assert!(unit.attempts >= 3 && unit.failing_since.is_some(), "{unit:?}");
    assert!(unit.last_error.as_deref().is_some_and(|e| e.contains("poisoned event")), "{unit:?}");
    assert_exactly_once(&env.db, &env.projection, "strict", &written[..20], PATIENCE).await;
    assert!(
        behaviour.calls_for(written[0].event.event_id) >= 2,
        "the good events were first handled in the failing batch, whose writes rolled back"
    );

    let admin = Admin::new(&env.backend());
    assert_eq!(
        admin.skip_failed_event("strict", None).await.expect("skip"),
        vec![poison.global_position]
    );
    let without: Vec<PersistedEvent> =
        written.iter().filter(|e| e.global_position != poison.global_position).cloned().collect();
    assert_exactly_once(&env.db, &env.projection, "strict", &without, PATIENCE).await;
    let unit = units_of(&env.coordinator_status().await, "strict").remove(0);
    assert!(!unit.paused && unit.attempts == 0 && unit.failing_since.is_none(), "{unit:?}");
    node.shutdown().await;
}

/// A batch handler that fails without naming the failing event still leaves its unit stopped
/// right before that event: the rest of the batch is retried one event at a time, the unit is
/// not paused on a provisional position, and once paused its status names the real culprit.
/// Healed and resumed, everything is handled exactly once and the status is clean.
pub async fn unplaced_failure_is_found_one_event_at_a_time<B: WorkerBackend>(backend: &B) {
    let env = backend.fresh_worker().await;
    let pool = streams("bulk", 3);
    let consumer = Recorder::new("bulk", &env.projection).with_unnamed_failures();
    let behaviour = Arc::clone(&consumer.behaviour);
    let written = write_events(&env.db, &env.store, &pool, 30).await;
    let poison = written[12].clone();
    behaviour.poison(poison.event.event_id);
    let node = Node::start::<B>(&env, "solo", vec![shared(consumer)]);
    eventually("the unit to pause on the poison", PATIENCE, || async {
        units_of(&env.coordinator_status().await, "bulk").first().is_some_and(|u| u.paused)
    })
    .await;
    let unit = units_of(&env.coordinator_status().await, "bulk").remove(0);
    assert_eq!(unit.failed_position, Some(poison.global_position), "{unit:?}");
    assert!(unit.checkpoint < poison.global_position, "{unit:?}");
    assert_exactly_once(&env.db, &env.projection, "bulk", &written[..12], PATIENCE).await;

    behaviour.heal(poison.event.event_id);
    let admin = Admin::new(&env.backend());
    assert_eq!(admin.resume("bulk", None).await.expect("resume"), 1);
    assert_exactly_once(&env.db, &env.projection, "bulk", &written, PATIENCE).await;
    let unit = units_of(&env.coordinator_status().await, "bulk").remove(0);
    assert!(!unit.paused && unit.attempts == 0 && unit.failing_since.is_none(), "{unit:?}");
    assert!(unit.last_error.is_none() && unit.failed_position.is_none(), "{unit:?}");
    node.shutdown().await;
}

/// An event whose row cannot be decoded pauses its unit like a handler failure: attempts
/// counted, the decoding error and the bad row's own position in the status, the events before
/// it committed. Skipping it (it is never read again) lets the unit go on.
pub async fn unreadable_event_pauses_its_unit_and_can_be_skipped<B: WorkerBackend>(backend: &B) {
    let env = backend.fresh_worker().await;
    let pool = streams("ledger", 2);
    let written = write_events(&env.db, &env.store, &pool, 12).await;
    let bad = written[7].clone();
    backend.make_unreadable(&env.db, &env.store, bad.global_position).await;
    let node =
        Node::start::<B>(&env, "solo", vec![shared(Recorder::new("reader", &env.projection))]);
    eventually("the unit to pause on the unreadable event", PATIENCE, || async {
        units_of(&env.coordinator_status().await, "reader").first().is_some_and(|u| u.paused)
    })
    .await;
    let unit = units_of(&env.coordinator_status().await, "reader").remove(0);
    assert_eq!(unit.failed_position, Some(bad.global_position), "{unit:?}");
    assert!(unit.attempts >= 3, "{unit:?}");
    let error = unit.last_error.clone().unwrap_or_default();
    assert!(error.contains(&format!("position {}", bad.global_position)), "{error}");
    assert_exactly_once(&env.db, &env.projection, "reader", &written[..7], PATIENCE).await;

    let admin = Admin::new(&env.backend());
    let skipped = admin.skip_failed_event("reader", None).await.expect("skip");
    assert_eq!(skipped, vec![bad.global_position]);
    let without: Vec<PersistedEvent> =
        written.iter().filter(|e| e.global_position != bad.global_position).cloned().collect();
    assert_exactly_once(&env.db, &env.projection, "reader", &without, PATIENCE).await;
    node.shutdown().await;
}

/// A handler failing with a retryable backend error (its own query lost the connection) is
/// retried for as long as it lasts and never paused, with the attempts and the error visible in
/// the status meanwhile; once it heals, everything is handled exactly once and the status is
/// clean again.
pub async fn transient_failures_never_pause_and_show_in_status<B: WorkerBackend>(backend: &B) {
    let env = backend.fresh_worker().await;
    let pool = streams("meter", 2);
    let consumer = Recorder::new("patient", &env.projection);
    let behaviour = Arc::clone(&consumer.behaviour);
    let written = write_events(&env.db, &env.store, &pool, 10).await;
    behaviour.fail_transiently(written[4].event.event_id);
    let node = Node::start::<B>(&env, "solo", vec![shared(consumer)]);
    // Twice the pause rule's attempts (3, no time window): a non-transient failure would have
    // paused long before.
    eventually("six transient failures", PATIENCE, || async {
        let Some(unit) = units_of(&env.coordinator_status().await, "patient").pop() else {
            return false;
        };
        assert!(!unit.paused, "a transient failure paused the unit: {unit:?}");
        unit.attempts >= 6
    })
    .await;
    let unit = units_of(&env.coordinator_status().await, "patient").remove(0);
    assert_eq!(unit.failed_position, Some(written[4].global_position), "{unit:?}");
    assert!(unit.last_error.as_deref().is_some_and(|e| e.contains("connection")), "{unit:?}");
    assert!(!unit.paused && unit.failing_since.is_none(), "{unit:?}");
    let admin = Admin::new(&env.backend());
    let skipped = admin.skip_failed_event("patient", None).await.expect("skip");
    assert!(skipped.is_empty(), "a unit that is only retrying has nothing to skip: {skipped:?}");

    behaviour.heal(written[4].event.event_id);
    assert_exactly_once(&env.db, &env.projection, "patient", &written, PATIENCE).await;
    eventually("the failure count to clear", PATIENCE, || async {
        let unit = units_of(&env.coordinator_status().await, "patient").remove(0);
        unit.attempts == 0 && unit.last_error.is_none() && unit.failing_since.is_none()
    })
    .await;
    node.shutdown().await;
}

/// The pause rule needs both its attempts and its time: a unit failing fast for less than the
/// window keeps retrying (the start of its failures recorded), and the coordinator pauses it on
/// the first failure that meets both thresholds, once.
pub async fn pause_waits_for_both_attempts_and_time<B: WorkerBackend>(backend: &B) {
    let env = backend.fresh_worker().await;
    let pool = streams("slow", 1);
    let consumer = Recorder::new("stubborn", &env.projection);
    let written = write_events(&env.db, &env.store, &pool, 3).await;
    consumer.behaviour.poison(written[1].event.event_id);
    let mut config = fast_config("solo");
    config.retry.pause = PauseRule { attempts: 2, failing_for: Duration::from_secs(3600) };
    let node = Node::start_with::<B>(&env, config, vec![shared(consumer)]);
    eventually("several failures within the window", PATIENCE, || async {
        let Some(unit) = units_of(&env.coordinator_status().await, "stubborn").pop() else {
            return false;
        };
        assert!(!unit.paused, "paused before the window passed: {unit:?}");
        unit.attempts >= 5
    })
    .await;
    node.shutdown().await;

    let unit = units_of(&env.coordinator_status().await, "stubborn").remove(0);
    assert!(unit.failing_since.is_some(), "{unit:?}");
    let report = |pause| FailureReport {
        error: "still failing".into(),
        position: Some(written[1].global_position),
        pause,
    };
    let record = env.coordinator.record_failure(&unit.unit, &report(None)).await.expect("record");
    assert!(!record.paused, "a transient failure paused the unit");
    let within = PauseRule { attempts: 1, failing_for: Duration::from_secs(3600) };
    let record =
        env.coordinator.record_failure(&unit.unit, &report(Some(within))).await.expect("record");
    assert!(!record.paused, "paused before the window passed");
    let due = PauseRule { attempts: 1, failing_for: Duration::ZERO };
    let record =
        env.coordinator.record_failure(&unit.unit, &report(Some(due))).await.expect("record");
    assert!(record.paused, "both thresholds were met");
    assert_eq!(record.attempts, unit.attempts + 3);
    let again =
        env.coordinator.record_failure(&unit.unit, &report(Some(due))).await.expect("record");
    assert!(!again.paused, "the pause is reported once, on the failure that caused it");
    let status = units_of(&env.coordinator_status().await, "stubborn").remove(0);
    assert!(status.paused && status.attempts == unit.attempts + 4, "{status:?}");
    assert_eq!(status.failing_since, unit.failing_since, "the run of failures began once");
}

/// [`Admin::wait_for`] returns once the consumer has handled everything up to a position, so a
/// caller reads its own writes without polling; a wait that cannot end says why at once (a
/// paused unit) or after its timeout (how far the consumer got, or that it has no units);
/// [`Admin::rebuild`] returns the position to wait for.
pub async fn waiting_for_a_consumer_sees_its_writes_or_says_why<B: WorkerBackend>(backend: &B) {
    let env = backend.fresh_worker().await;
    let pool = streams("wait", 2);
    let consumer = Recorder::new("waited", &env.projection);
    let behaviour = Arc::clone(&consumer.behaviour);
    let node = Node::start::<B>(&env, "solo", vec![shared(consumer)]);
    let admin = Admin::new(&env.backend());

    let mut written = write_events(&env.db, &env.store, &pool, 10).await;
    let last = written.last().map(|e| e.global_position).expect("written");
    admin.wait_for("waited", last, PATIENCE).await.expect("the consumer got there");
    let recorded: HashSet<_> = env.projection_ids("waited").await.into_iter().collect();
    let expected: HashSet<_> = written.iter().map(|e| e.event.event_id).collect();
    assert_eq!(recorded, expected, "everything up to the position is handled when the wait ends");
    let caught_up = admin.wait_caught_up("waited", PATIENCE).await.expect("caught up");
    assert!(caught_up >= last);

    let nobody = admin.wait_for("nobody", last, Duration::from_millis(50)).await;
    assert!(
        matches!(nobody, Err(WorkerError::WaitTimedOut { reached: None, .. })),
        "a consumer without units: {nobody:?}"
    );

    let doomed = Event::new(&pool[0], "Happened", b"doomed".to_vec());
    behaviour.poison(doomed.event_id);
    let appended = env
        .store
        .append_committed(&env.db, ExpectedVersion::Any, vec![doomed])
        .await
        .expect("append");
    let paused = admin.wait_for("waited", appended.last_position(), PATIENCE).await;
    match paused {
        Err(WorkerError::ConsumerPaused { error: Some(error), .. }) => {
            assert!(error.contains("poisoned event"), "{error}")
        }
        other => panic!("a paused consumer must end the wait: {other:?}"),
    }
    behaviour.heal(appended.events()[0].event.event_id);
    admin.resume("waited", None).await.expect("resume");
    admin.wait_for("waited", appended.last_position(), PATIENCE).await.expect("resumed");
    written.extend(appended.into_events());

    let up_to = admin.rebuild(&Recorder::new("waited", &env.projection)).await.expect("rebuild");
    assert!(up_to >= written.last().map_or(0, |e| e.global_position));
    admin.wait_for("waited", up_to, PATIENCE).await.expect("rebuilt");
    assert_exactly_once(&env.db, &env.projection, "waited", &written, Duration::ZERO).await;
    node.shutdown().await;
}

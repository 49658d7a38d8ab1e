//! The batch logic against mocked ports: what is read, handled, committed or rolled back.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use mockall::predicate::{always, eq};
use tokio::sync::{Notify, watch};

use super::*;
use crate::mock::{MockCoordinator, MockDatabase, MockEventStore, MockTx};
use crate::worker::coordinator::{NodeInfo, UnitId};
use crate::{Event, HandlerError, PersistedEvent, StreamId};

struct Probe {
    seen: Mutex<Vec<u64>>,
    fail_at: Option<u64>,
}

#[async_trait]
impl Consumer<MockDatabase> for Probe {
    fn name(&self) -> &str {
        "probe"
    }

    async fn handle(&self, _tx: &mut MockTx, event: &PersistedEvent) -> Result<(), HandlerError> {
        self.seen.lock().unwrap().push(event.global_position);
        if self.fail_at == Some(event.global_position) {
            return Err("boom".into());
        }
        Ok(())
    }
}

pub(super) fn events(positions: &[u64]) -> Vec<PersistedEvent> {
    let stream = StreamId::new("t", "1");
    positions
        .iter()
        .zip(1..)
        .map(|(p, v)| PersistedEvent {
            event: Event::new(&stream, "E", Vec::new()),
            global_position: *p,
            aggregate_version: v,
        })
        .collect()
}

fn database(commits: usize, rollbacks: usize) -> MockDatabase {
    let mut db = MockDatabase::new();
    db.expect_begin().times(1).returning(|| Ok(MockTx));
    db.expect_commit().times(commits).returning(|_| Ok(()));
    db.expect_rollback().times(rollbacks).returning(|_| Ok(()));
    db
}

/// A store whose one read is of `(10, expected_limit]`, three events at most.
fn store(read: Vec<PersistedEvent>, expected_limit: u64) -> MockEventStore {
    let mut store = MockEventStore::new();
    store.expect_safe_frontier().never();
    let expected = LogQuery::up_to(expected_limit).after(10).limit(3);
    store
        .expect_read_events_until()
        .withf(move |_, query| *query == expected)
        .returning(move |_, _| Ok(read.clone()));
    store
}

fn context(
    db: MockDatabase,
    store: MockEventStore,
    coordinator: MockCoordinator,
    frontier: u64,
) -> Arc<Context<MockDatabase, MockEventStore, MockCoordinator>> {
    let config = crate::WorkerConfig { batch_size: 3, ..crate::WorkerConfig::default() };
    Arc::new(Context {
        db,
        store,
        coordinator,
        consumers: BTreeMap::new(),
        config,
        node: NodeInfo { node_id: "n".into(), consumers: Vec::new(), version: "t".into() },
        frontier: watch::Sender::new(frontier),
        stopping: watch::Sender::new(false),
        reassigned: Notify::new(),
    })
}

fn claim(coordinator: &mut MockCoordinator, claim: Claim) {
    coordinator.expect_begin_batch().times(1).returning(move |_, _, _, _| Ok(claim));
}

fn assignment() -> Assignment {
    Assignment { unit: UnitId::new("probe", 1, 0), epoch: 7 }
}

async fn run_batch(
    ctx: &Arc<Context<MockDatabase, MockEventStore, MockCoordinator>>,
    consumer: &dyn Consumer<MockDatabase>,
    size: usize,
    cap: Option<u64>,
) -> Result<Outcome, Failure> {
    let plan = Plan { size, cap, prefetched: None, read_ahead: None };
    batch(ctx, consumer, &assignment(), &EventFilter::all(), plan, &InFlight::default()).await
}

fn probe(fail_at: Option<u64>) -> Probe {
    Probe { seen: Mutex::new(Vec::new()), fail_at }
}

#[tokio::test]
async fn a_partial_batch_moves_the_checkpoint_to_the_frontier() {
    let mut coordinator = MockCoordinator::new();
    claim(&mut coordinator, Claim::Ready { checkpoint: 10, upto: None, skip: None });
    coordinator
        .expect_commit_batch()
        .with(always(), eq(UnitId::new("probe", 1, 0)), eq("n"), eq(7), eq(20))
        .times(1)
        .returning(|_, _, _, _, _| Ok(true));
    let ctx = context(database(1, 0), store(events(&[12, 15]), 20), coordinator, 20);
    let consumer = probe(None);
    let outcome = run_batch(&ctx, &consumer, 3, None).await;
    assert!(matches!(outcome, Ok(Outcome::Handled { full: false, checkpoint: 20, .. })));
    assert_eq!(*consumer.seen.lock().unwrap(), vec![12, 15]);
}

#[tokio::test]
async fn a_full_batch_moves_the_checkpoint_to_its_last_event() {
    let mut coordinator = MockCoordinator::new();
    claim(&mut coordinator, Claim::Ready { checkpoint: 10, upto: None, skip: None });
    coordinator
        .expect_commit_batch()
        .with(always(), always(), always(), always(), eq(14))
        .times(1)
        .returning(|_, _, _, _, _| Ok(true));
    let ctx = context(database(1, 0), store(events(&[11, 13, 14]), 99), coordinator, 99);
    let consumer = probe(None);
    let outcome = run_batch(&ctx, &consumer, 3, None).await;
    assert!(matches!(outcome, Ok(Outcome::Handled { full: true, checkpoint: 14, .. })));
    assert_eq!(*consumer.seen.lock().unwrap(), vec![11, 13, 14]);
}

#[tokio::test]
async fn a_skipped_event_is_never_read_and_the_checkpoint_passes_it() {
    let mut coordinator = MockCoordinator::new();
    claim(&mut coordinator, Claim::Ready { checkpoint: 10, upto: None, skip: Some(13) });
    coordinator
        .expect_commit_batch()
        .with(always(), always(), always(), always(), eq(13))
        .times(1)
        .returning(|_, _, _, _, _| Ok(true));
    // Reads stop at 12, right before the skipped event, which may not even decode.
    let ctx = context(database(1, 0), store(events(&[11]), 12), coordinator, 99);
    let consumer = probe(None);
    let outcome = run_batch(&ctx, &consumer, 3, None).await;
    assert!(matches!(outcome, Ok(Outcome::Handled { full: false, checkpoint: 13, .. })));
    assert_eq!(*consumer.seen.lock().unwrap(), vec![11]);
}

#[tokio::test]
async fn a_skip_right_after_the_checkpoint_moves_past_it_without_reading() {
    let mut coordinator = MockCoordinator::new();
    claim(&mut coordinator, Claim::Ready { checkpoint: 10, upto: None, skip: Some(11) });
    coordinator
        .expect_commit_batch()
        .with(always(), always(), always(), always(), eq(11))
        .times(1)
        .returning(|_, _, _, _, _| Ok(true));
    let mut store = MockEventStore::new();
    store.expect_read_events_until().never();
    let ctx = context(database(1, 0), store, coordinator, 99);
    let outcome = run_batch(&ctx, &probe(None), 3, None).await;
    assert!(matches!(outcome, Ok(Outcome::Handled { full: false, checkpoint: 11, .. })));
}

#[tokio::test]
async fn a_capped_batch_stops_before_the_failing_event() {
    let mut coordinator = MockCoordinator::new();
    claim(&mut coordinator, Claim::Ready { checkpoint: 10, upto: None, skip: None });
    coordinator
        .expect_commit_batch()
        .with(always(), always(), always(), always(), eq(14))
        .times(1)
        .returning(|_, _, _, _, _| Ok(true));
    let ctx = context(database(1, 0), store(events(&[12, 14]), 14), coordinator, 99);
    let outcome = run_batch(&ctx, &probe(None), 3, Some(14)).await;
    assert!(matches!(outcome, Ok(Outcome::Handled { full: false, checkpoint: 14, .. })));
}

#[tokio::test]
async fn an_unreadable_event_fails_the_batch_with_its_position() {
    let mut coordinator = MockCoordinator::new();
    claim(&mut coordinator, Claim::Ready { checkpoint: 10, upto: None, skip: None });
    coordinator.expect_commit_batch().never();
    let mut store = MockEventStore::new();
    store.expect_read_events_until().returning(|_, _| {
        let source = crate::BackendError::new(crate::BackendErrorKind::Data, "decode", "bad");
        Err(crate::StoreError::UnreadableEvent { position: 13, source })
    });
    let ctx = context(database(0, 1), store, coordinator, 20);
    match run_batch(&ctx, &probe(None), 3, None).await {
        Err(failure) => {
            assert_eq!((failure.position, failure.checkpoint), (Some(13), 10));
            assert!(!failure.transient);
        }
        Ok(_) => panic!("expected the unreadable event to fail the batch"),
    }
}

#[tokio::test]
async fn a_draining_unit_reads_only_up_to_its_limit() {
    let mut coordinator = MockCoordinator::new();
    claim(&mut coordinator, Claim::Ready { checkpoint: 10, upto: Some(16), skip: None });
    coordinator
        .expect_commit_batch()
        .with(always(), always(), always(), always(), eq(16))
        .times(1)
        .returning(|_, _, _, _, _| Ok(true));
    let ctx = context(database(1, 0), store(events(&[12]), 16), coordinator, 30);
    let outcome = run_batch(&ctx, &probe(None), 3, None).await;
    assert!(matches!(outcome, Ok(Outcome::Handled { full: false, checkpoint: 16, .. })));
}

#[tokio::test]
async fn a_handler_failure_rolls_back_and_names_the_failing_event() {
    let mut coordinator = MockCoordinator::new();
    claim(&mut coordinator, Claim::Ready { checkpoint: 10, upto: None, skip: None });
    coordinator.expect_commit_batch().never();
    let ctx = context(database(0, 1), store(events(&[12, 15, 18]), 20), coordinator, 20);
    match run_batch(&ctx, &probe(Some(15)), 3, None).await {
        Err(failure) => {
            assert_eq!((failure.position, failure.checkpoint), (Some(15), 10));
            assert!(failure.message.contains("boom"), "{}", failure.message);
            assert!(!failure.transient);
        }
        Ok(_) => panic!("expected a handler failure"),
    }
}

#[tokio::test]
async fn a_fenced_commit_rolls_back() {
    let mut coordinator = MockCoordinator::new();
    claim(&mut coordinator, Claim::Ready { checkpoint: 10, upto: None, skip: None });
    coordinator.expect_commit_batch().times(1).returning(|_, _, _, _, _| Ok(false));
    let ctx = context(database(0, 1), store(events(&[12]), 20), coordinator, 20);
    let outcome = run_batch(&ctx, &probe(None), 3, None).await;
    assert!(matches!(outcome, Ok(Outcome::Fenced)));
}

#[tokio::test]
async fn nothing_to_read_paused_and_fenced_claims_roll_back_without_reading() {
    for (claimed, expected) in [
        (Claim::Ready { checkpoint: 20, upto: None, skip: None }, "idle"),
        (Claim::Paused, "paused"),
        (Claim::Fenced, "fenced"),
    ] {
        let mut coordinator = MockCoordinator::new();
        claim(&mut coordinator, claimed);
        let mut store = MockEventStore::new();
        store.expect_read_events_until().never();
        let ctx = context(database(0, 1), store, coordinator, 20);
        let outcome = run_batch(&ctx, &probe(None), 3, None).await;
        let got = match outcome {
            Ok(Outcome::Idle) => "idle",
            Ok(Outcome::Paused) => "paused",
            Ok(Outcome::Fenced) => "fenced",
            _ => "other",
        };
        assert_eq!(got, expected);
    }
}

#[tokio::test]
async fn a_panicking_handler_fails_its_batch_instead_of_the_loop() {
    struct Panics;

    #[async_trait]
    impl Consumer<MockDatabase> for Panics {
        fn name(&self) -> &str {
            "probe"
        }

        async fn handle(
            &self,
            _tx: &mut MockTx,
            _event: &PersistedEvent,
        ) -> Result<(), HandlerError> {
            panic!("handler bug")
        }
    }

    let mut coordinator = MockCoordinator::new();
    claim(&mut coordinator, Claim::Ready { checkpoint: 10, upto: None, skip: None });
    let mut db = MockDatabase::new();
    db.expect_begin().times(1).returning(|| Ok(MockTx));
    let ctx = context(db, store(events(&[12]), 20), coordinator, 20);
    let consumer: Arc<dyn Consumer<MockDatabase>> = Arc::new(Panics);
    let plan = Plan { size: 3, cap: None, prefetched: None, read_ahead: None };
    let outcome = guarded_batch(&ctx, &consumer, &assignment(), &EventFilter::all(), plan).await;
    match outcome {
        Err(failure) => {
            assert!(failure.message.contains("handler bug"), "{}", failure.message);
            assert_eq!((failure.position, failure.checkpoint), (Some(12), 10));
        }
        Ok(_) => panic!("expected the panic to become a handler failure"),
    }
}

/// A store that answers `(after, up_to]` reads of `limit` events with `read`, `times` times.
fn answers(store: &mut MockEventStore, query: LogQuery, read: Vec<PersistedEvent>, times: usize) {
    store
        .expect_read_events_until()
        .withf(move |_, asked| *asked == query)
        .times(times)
        .returning(move |_, _| Ok(read.clone()));
}

/// A database for one batch transaction (committed) and `reads` read-ahead transactions.
fn database_with_reads(reads: usize) -> MockDatabase {
    let mut db = MockDatabase::new();
    db.expect_begin().times(1).returning(|| Ok(MockTx));
    db.expect_begin_read().times(reads).returning(|| Ok(MockTx));
    db.expect_commit().times(1).returning(|_| Ok(()));
    db.expect_rollback().times(reads).returning(|_| Ok(()));
    db
}

fn committing(coordinator: &mut MockCoordinator, checkpoint: u64) {
    coordinator
        .expect_commit_batch()
        .with(always(), always(), always(), always(), eq(checkpoint))
        .times(1)
        .returning(|_, _, _, _, _| Ok(true));
}

#[tokio::test]
async fn a_full_batch_reads_the_next_one_from_its_last_event_with_the_grown_size() {
    let mut coordinator = MockCoordinator::new();
    claim(&mut coordinator, Claim::Ready { checkpoint: 10, upto: None, skip: None });
    committing(&mut coordinator, 14);
    let mut store = MockEventStore::new();
    answers(&mut store, LogQuery::up_to(99).after(10).limit(3), events(&[11, 13, 14]), 1);
    answers(&mut store, LogQuery::up_to(99).after(14).limit(6), events(&[20, 21]), 1);
    let ctx = context(database_with_reads(1), store, coordinator, 99);
    let plan = Plan { size: 3, cap: None, prefetched: None, read_ahead: Some(6) };
    let consumer = probe(None);
    let outcome =
        batch(&ctx, &consumer, &assignment(), &EventFilter::all(), plan, &InFlight::default())
            .await;
    let Ok(Outcome::Handled { full: true, checkpoint: 14, ahead: Some(ahead) }) = outcome else {
        panic!("expected a full batch with a read-ahead");
    };
    let prefetched = ahead.finish().await.expect("the read-ahead succeeds");
    let served = prefetched.serves(14, 99, 6).expect("it serves the next batch");
    assert_eq!(served.iter().map(|e| e.global_position).collect::<Vec<_>>(), vec![20, 21]);
}

#[tokio::test]
async fn a_partial_batch_reads_nothing_ahead() {
    let mut coordinator = MockCoordinator::new();
    claim(&mut coordinator, Claim::Ready { checkpoint: 10, upto: None, skip: None });
    committing(&mut coordinator, 20);
    let mut store = MockEventStore::new();
    answers(&mut store, LogQuery::up_to(20).after(10).limit(3), events(&[12, 15]), 1);
    let ctx = context(database_with_reads(0), store, coordinator, 20);
    let plan = Plan { size: 3, cap: None, prefetched: None, read_ahead: Some(6) };
    let outcome =
        batch(&ctx, &probe(None), &assignment(), &EventFilter::all(), plan, &InFlight::default())
            .await;
    assert!(matches!(outcome, Ok(Outcome::Handled { full: false, ahead: None, .. })));
}

/// Runs a batch given the read-ahead of `(14, 99]`, 3 events, after a claim at `checkpoint`
/// with drain limit `upto`; the store answers that read once and the batch's own read of
/// `(checkpoint, 99]` `fresh_reads` times.
async fn batch_after_read_ahead(
    checkpoint: u64,
    upto: Option<u64>,
    fresh_reads: usize,
) -> Vec<u64> {
    let mut coordinator = MockCoordinator::new();
    claim(&mut coordinator, Claim::Ready { checkpoint, upto, skip: None });
    let bound = upto.unwrap_or(99);
    committing(&mut coordinator, bound);
    let mut store = MockEventStore::new();
    answers(&mut store, LogQuery::up_to(99).after(14).limit(3), events(&[20, 30]), 1);
    answers(
        &mut store,
        LogQuery::up_to(99).after(checkpoint).limit(3),
        events(&[12, 13]),
        fresh_reads,
    );
    let ctx = context(database_with_reads(1), store, coordinator, 99);
    let ahead = ReadAhead::start(&ctx, &EventFilter::all(), 14, 99, 3);
    let plan = Plan { size: 3, cap: None, prefetched: Some(ahead), read_ahead: Some(6) };
    let consumer = probe(None);
    let outcome =
        batch(&ctx, &consumer, &assignment(), &EventFilter::all(), plan, &InFlight::default())
            .await;
    assert!(
        matches!(outcome, Ok(Outcome::Handled { full: false, checkpoint, ahead: None }) if checkpoint == bound)
    );
    consumer.seen.into_inner().unwrap()
}

#[tokio::test]
async fn a_batch_claimed_where_its_read_ahead_started_handles_those_events_without_reading() {
    assert_eq!(batch_after_read_ahead(14, None, 0).await, vec![20, 30]);
}

#[tokio::test]
async fn a_batch_claimed_elsewhere_reads_for_itself() {
    // The checkpoint was rewound to 10 between the batches: the read from 14 is dropped.
    assert_eq!(batch_after_read_ahead(10, None, 1).await, vec![12, 13]);
}

#[tokio::test]
async fn a_drain_limit_set_after_the_read_ahead_cuts_its_events_at_the_limit() {
    assert_eq!(batch_after_read_ahead(14, Some(25), 0).await, vec![20]);
}

//! The batch logic against mocked ports: what is read, handled, committed or rolled back.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use mockall::predicate::{always, eq};
use tokio::sync::{Notify, watch};

use super::*;
use crate::mock::{MockCoordinator, MockDatabase, MockEventStore, MockTx};
use crate::worker::coordinator::{NodeInfo, UnitId};
use crate::{Event, HandlerError, StreamId};

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

fn events(positions: &[u64]) -> Vec<PersistedEvent> {
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

fn store(read: Vec<PersistedEvent>, expected_limit: u64) -> MockEventStore {
    let mut store = MockEventStore::new();
    store.expect_safe_frontier().never();
    store
        .expect_read_events_until()
        .with(always(), eq(10), eq(expected_limit), always(), eq(3))
        .returning(move |_, _, _, _, _| Ok(read.clone()));
    store
}

fn context(
    db: MockDatabase,
    store: MockEventStore,
    coordinator: MockCoordinator,
    frontier: u64,
) -> Context<MockDatabase, MockEventStore, MockCoordinator> {
    let config = crate::WorkerConfig { batch_size: 3, ..crate::WorkerConfig::default() };
    Context {
        db,
        store,
        coordinator,
        consumers: BTreeMap::new(),
        config,
        node: NodeInfo { node_id: "n".into(), consumers: Vec::new(), version: "t".into() },
        frontier: watch::Sender::new(frontier),
        stopping: watch::Sender::new(false),
        reassigned: Notify::new(),
    }
}

fn claim(coordinator: &mut MockCoordinator, claim: Claim) {
    coordinator.expect_begin_batch().times(1).returning(move |_, _, _, _| Ok(claim));
}

fn assignment() -> Assignment {
    Assignment { unit: UnitId::new("probe", 1, 0), epoch: 7 }
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
    let outcome = batch(&ctx, &consumer, &assignment(), &EventFilter::all(), 3).await;
    assert!(matches!(outcome, Ok(Outcome::Handled { full: false })));
    assert_eq!(*consumer.seen.lock().unwrap(), vec![12, 15]);
}

#[tokio::test]
async fn a_full_batch_moves_the_checkpoint_to_its_last_event_and_skips_the_skipped_one() {
    let mut coordinator = MockCoordinator::new();
    claim(&mut coordinator, Claim::Ready { checkpoint: 10, upto: None, skip: Some(13) });
    coordinator
        .expect_commit_batch()
        .with(always(), always(), always(), always(), eq(14))
        .times(1)
        .returning(|_, _, _, _, _| Ok(true));
    let ctx = context(database(1, 0), store(events(&[11, 13, 14]), 99), coordinator, 99);
    let consumer = probe(None);
    let outcome = batch(&ctx, &consumer, &assignment(), &EventFilter::all(), 3).await;
    assert!(matches!(outcome, Ok(Outcome::Handled { full: true })));
    assert_eq!(*consumer.seen.lock().unwrap(), vec![11, 14]);
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
    let outcome = batch(&ctx, &probe(None), &assignment(), &EventFilter::all(), 3).await;
    assert!(matches!(outcome, Ok(Outcome::Handled { full: false })));
}

#[tokio::test]
async fn a_handler_failure_rolls_back_and_names_the_failing_event() {
    let mut coordinator = MockCoordinator::new();
    claim(&mut coordinator, Claim::Ready { checkpoint: 10, upto: None, skip: None });
    coordinator.expect_commit_batch().never();
    let ctx = context(database(0, 1), store(events(&[12, 15, 18]), 20), coordinator, 20);
    let outcome = batch(&ctx, &probe(Some(15)), &assignment(), &EventFilter::all(), 3).await;
    match outcome {
        Err(Failure::Handler { message, position }) => {
            assert_eq!(position, Some(15));
            assert!(message.contains("boom"), "{message}");
        }
        _ => panic!("expected a handler failure"),
    }
}

#[tokio::test]
async fn a_fenced_commit_rolls_back() {
    let mut coordinator = MockCoordinator::new();
    claim(&mut coordinator, Claim::Ready { checkpoint: 10, upto: None, skip: None });
    coordinator.expect_commit_batch().times(1).returning(|_, _, _, _, _| Ok(false));
    let ctx = context(database(0, 1), store(events(&[12]), 20), coordinator, 20);
    let outcome = batch(&ctx, &probe(None), &assignment(), &EventFilter::all(), 3).await;
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
        let outcome = batch(&ctx, &probe(None), &assignment(), &EventFilter::all(), 3).await;
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
    let ctx = Arc::new(context(db, store(events(&[12]), 20), coordinator, 20));
    let consumer: Arc<dyn Consumer<MockDatabase>> = Arc::new(Panics);
    let outcome = guarded_batch(&ctx, &consumer, &assignment(), &EventFilter::all(), 3).await;
    match outcome {
        Err(Failure::Handler { message, .. }) => {
            assert!(message.contains("handler bug"), "{message}")
        }
        _ => panic!("expected the panic to become a handler failure"),
    }
}

//! Model-based test: random operation sequences give the same results on the backend and on the
//! in-memory model.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use pupsourcing::{
    AppendResult, Database, Event, EventStore, ExpectedVersion, PersistedEvent, StoreError,
    StreamId,
};
use pupsourcing_memory::{MemoryDatabase, MemoryStore};
use uuid::Uuid;

use crate::StoreBackend;
use crate::support::{event, global_log, unique_stream};

const STREAMS: usize = 3;

#[derive(Debug, Clone, Copy)]
enum Expectation {
    NoStream,
    Current,
    Stale,
    Ahead,
    Any,
}

#[derive(Debug, Clone)]
enum Op {
    Append {
        stream: usize,
        expectation: Expectation,
        size: usize,
        reuse: Option<usize>,
        rollback: bool,
    },
    ReadStream {
        stream: usize,
        from: Option<u64>,
        to: Option<u64>,
    },
    StreamVersion {
        stream: usize,
    },
    ReadEvents {
        after: usize,
        limit: usize,
    },
    Latest,
}

fn op() -> impl Strategy<Value = Op> {
    let expectation = prop_oneof![
        1 => Just(Expectation::NoStream),
        3 => Just(Expectation::Current),
        1 => Just(Expectation::Stale),
        1 => Just(Expectation::Ahead),
        2 => Just(Expectation::Any),
    ];
    prop_oneof![
        4 => (0..STREAMS, expectation, 1usize..4, proptest::option::weighted(0.15, 0usize..64), proptest::bool::weighted(0.15))
            .prop_map(|(stream, expectation, size, reuse, rollback)| Op::Append { stream, expectation, size, reuse, rollback }),
        1 => (0..STREAMS, proptest::option::of(0u64..8), proptest::option::of(0u64..8))
            .prop_map(|(stream, from, to)| Op::ReadStream { stream, from, to }),
        1 => (0..STREAMS).prop_map(|stream| Op::StreamVersion { stream }),
        1 => (0usize..24, 0usize..6).prop_map(|(after, limit)| Op::ReadEvents { after, limit }),
        1 => Just(Op::Latest),
    ]
}

/// What two stores must agree on: the outcome of each call, with global positions left out
/// (rolled-back appends may leave holes on one backend and not the other).
#[derive(Debug, PartialEq)]
enum Outcome {
    Appended(u64, u64),
    Conflict(u64),
    Duplicate(Vec<Uuid>),
    Events(Vec<(Event, u64)>),
    Version(u64),
    Other(String),
}

fn appended(result: Result<AppendResult, StoreError>) -> Outcome {
    match result {
        Ok(result) => Outcome::Appended(result.from_version(), result.to_version()),
        Err(StoreError::Conflict { actual, .. }) => Outcome::Conflict(actual),
        Err(StoreError::DuplicateEventId { mut event_ids, .. }) => {
            event_ids.sort();
            Outcome::Duplicate(event_ids)
        }
        Err(other) => Outcome::Other(other.to_string()),
    }
}

fn listed(events: Vec<PersistedEvent>) -> Outcome {
    Outcome::Events(events.into_iter().map(|e| (e.event, e.aggregate_version)).collect())
}

struct Side<D: Database, S: EventStore<D>> {
    db: D,
    store: S,
}

impl<D: Database, S: EventStore<D>> Side<D, S> {
    async fn append(
        &self,
        expected: ExpectedVersion,
        batch: Vec<Event>,
        rollback: bool,
    ) -> Outcome {
        let mut tx = self.db.begin().await.expect("begin");
        let result = self.store.append(&mut tx, expected, batch).await;
        if result.is_ok() && !rollback {
            self.db.commit(tx).await.expect("commit");
        } else {
            self.db.rollback(tx).await.expect("rollback");
        }
        appended(result)
    }

    async fn run(&self, op: &Op, streams: &[StreamId], log: &[PersistedEvent]) -> Outcome {
        let mut tx = self.db.begin_read().await.expect("begin_read");
        let outcome = match *op {
            Op::ReadStream { stream, from, to } => {
                let read = self
                    .store
                    .read_stream(&mut tx, &streams[stream], crate::support::range(from, to))
                    .await
                    .expect("read_stream");
                listed(read.into_events())
            }
            Op::StreamVersion { stream } => Outcome::Version(
                self.store.stream_version(&mut tx, &streams[stream]).await.expect("version"),
            ),
            Op::ReadEvents { after, limit } => {
                let after = if after == 0 {
                    0
                } else {
                    log.get(after - 1).map_or(u64::MAX >> 1, |e| e.global_position)
                };
                listed(self.store.read_events(&mut tx, after, limit).await.expect("read_events"))
            }
            Op::Latest => {
                let latest = self.store.latest_position(&mut tx).await.expect("latest");
                Outcome::Events(
                    log.iter()
                        .filter(|e| e.global_position == latest)
                        .map(|e| (e.event.clone(), e.aggregate_version))
                        .collect(),
                )
            }
            Op::Append { .. } => Outcome::Other("append is not a read".into()),
        };
        self.db.rollback(tx).await.expect("rollback");
        outcome
    }
}

async fn check<B: StoreBackend>(backend: &B, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let (db, store) = backend.fresh_store().await;
    let real = Side { db, store };
    let model_db = MemoryDatabase::new();
    let model = Side { store: MemoryStore::new(&model_db), db: model_db };
    let streams: Vec<StreamId> = (0..STREAMS).map(|_| unique_stream("model")).collect();
    let mut ids: Vec<Uuid> = Vec::new();

    for (step, op) in ops.iter().enumerate() {
        let outcome = match *op {
            Op::Append { stream, expectation, size, reuse, rollback } => {
                let current =
                    crate::support::version(&model.db, &model.store, &streams[stream]).await;
                let expected = match expectation {
                    Expectation::NoStream => ExpectedVersion::NoStream,
                    Expectation::Current => ExpectedVersion::Exact(current),
                    Expectation::Stale => ExpectedVersion::Exact(current.saturating_sub(1)),
                    Expectation::Ahead => ExpectedVersion::Exact(current + 1),
                    Expectation::Any => ExpectedVersion::Any,
                };
                let mut batch: Vec<Event> =
                    (0..size).map(|i| event(&streams[stream], &format!("{step}.{i}"))).collect();
                if let (Some(reuse), false) = (reuse, ids.is_empty()) {
                    batch[0].event_id = ids[reuse % ids.len()];
                }
                ids.extend(batch.iter().map(|e| e.event_id));
                let real_outcome = real.append(expected, batch.clone(), rollback).await;
                let model_outcome = model.append(expected, batch, rollback).await;
                prop_assert_eq!(&real_outcome, &model_outcome, "step {}: {:?}", step, op);
                continue;
            }
            _ => {
                let real_log = global_log(&real.db, &real.store).await;
                let model_log = global_log(&model.db, &model.store).await;
                (real.run(op, &streams, &real_log).await, model.run(op, &streams, &model_log).await)
            }
        };
        prop_assert_eq!(&outcome.0, &outcome.1, "step {}: {:?}", step, op);
    }

    let real_log = global_log(&real.db, &real.store).await;
    let model_log = global_log(&model.db, &model.store).await;
    prop_assert!(real_log.windows(2).all(|w| w[0].global_position < w[1].global_position));
    prop_assert_eq!(listed(real_log), listed(model_log));
    Ok(())
}

/// Random sequences of appends (every expectation, duplicate ids, rollbacks) and reads produce
/// the same outcomes on the backend as on the in-memory model, up to global position numbering.
pub async fn model_agrees_with_memory<B: StoreBackend>(backend: &B) {
    let handle = tokio::runtime::Handle::current();
    let config = Config { cases: 24, failure_persistence: None, ..Config::default() };
    let result = tokio::task::block_in_place(|| {
        let mut runner = TestRunner::new(config);
        runner.run(&proptest::collection::vec(op(), 1..40), |ops| {
            handle.block_on(check(backend, ops))
        })
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, ops)) => {
            panic!("backend and model disagree: {reason}\nminimal ops: {ops:#?}")
        }
        Err(TestError::Abort(reason)) => panic!("model test aborted: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_ignore_positions_but_not_versions() {
        let stream = StreamId::new("t", "1");
        let e = Event::new(&stream, "E", Vec::new());
        let a = PersistedEvent { event: e.clone(), global_position: 1, aggregate_version: 1 };
        let b = PersistedEvent { event: e, global_position: 9, aggregate_version: 1 };
        assert_eq!(listed(vec![a.clone()]), listed(vec![b.clone()]));
        let c = PersistedEvent { aggregate_version: 2, ..b };
        assert_ne!(listed(vec![a]), listed(vec![c]));
    }
}

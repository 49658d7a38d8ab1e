//! Optimistic concurrency under real concurrency: many tasks, many connections, one stream.

use std::future::Future;
use std::sync::Arc;

use pupsourcing::{ExpectedVersion, StoreError};
use tokio::sync::Barrier;

use crate::StoreBackend;
use crate::support::{append_as_writer, event, read, unique_stream, version};

const WRITERS: usize = 50;

/// Runs `WRITERS` tasks that each get their index and a shared barrier to line up on.
async fn race<T, F, Fut>(task: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize, Arc<Barrier>) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(WRITERS));
    let handles: Vec<_> =
        (0..WRITERS).map(|i| tokio::spawn(task(i, Arc::clone(&barrier)))).collect();
    let mut results = Vec::with_capacity(WRITERS);
    for handle in handles {
        results.push(handle.await.expect("writer task panicked"));
    }
    results
}

/// 50 writers expecting the same version (half appending in a transaction, half with
/// `append_committed`): exactly one wins each round, the others see a conflict naming the
/// winner's version; the stream ends with one event per round and no gap.
pub async fn concurrent_exact_writers_have_one_winner_per_version<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let stream = unique_stream("contended");
    const ROUNDS: u64 = 6;
    let mut winners = Vec::new();
    for round in 0..ROUNDS {
        let outcomes = race(|writer, barrier| {
            let (db, store, stream) = (db.clone(), store.clone(), stream.clone());
            async move {
                let seen = version(&db, &store, &stream).await;
                barrier.wait().await;
                let expected = if seen == 0 {
                    ExpectedVersion::NoStream
                } else {
                    ExpectedVersion::Exact(seen)
                };
                let label = format!("round {round} writer {writer}");
                let appended =
                    append_as_writer(writer, &db, &store, expected, vec![event(&stream, &label)])
                        .await;
                (label, appended)
            }
        })
        .await;
        let mut round_winners = Vec::new();
        for (label, outcome) in outcomes {
            match outcome {
                Ok(result) => {
                    assert_eq!(result.to_version(), round + 1);
                    round_winners.push(label);
                }
                Err(StoreError::Conflict { actual, .. }) => assert_eq!(actual, round + 1),
                Err(other) => panic!("unexpected error in round {round}: {other:?}"),
            }
        }
        assert_eq!(round_winners.len(), 1, "round {round} must have exactly one winner");
        winners.extend(round_winners);
    }
    let stored = read(&db, &store, &stream).await;
    let labels: Vec<String> = stored
        .iter()
        .map(|e| {
            serde_json::from_slice::<serde_json::Value>(&e.event.payload).expect("json")["label"]
                .as_str()
                .expect("label")
                .to_owned()
        })
        .collect();
    assert_eq!(labels, winners, "the stream must hold exactly the winners, in order");
    assert_eq!(stored.last_read_version(), ROUNDS);
}

/// 50 concurrent `Any` writers of two events each (both append paths) all succeed; the stream gets versions 1..=100
/// with no gap, each writer's two events adjacent.
pub async fn concurrent_any_writers_all_succeed_without_gaps<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let stream = unique_stream("busy");
    let outcomes = race(|writer, barrier| {
        let (db, store, stream) = (db.clone(), store.clone(), stream.clone());
        async move {
            let batch =
                vec![event(&stream, &format!("{writer}a")), event(&stream, &format!("{writer}b"))];
            barrier.wait().await;
            append_as_writer(writer, &db, &store, ExpectedVersion::Any, batch).await
        }
    })
    .await;
    let mut ranges: Vec<(u64, u64)> = outcomes
        .into_iter()
        .map(|outcome| {
            let result = outcome.expect("every Any writer succeeds");
            assert_eq!(result.to_version(), result.from_version() + 1);
            (result.from_version(), result.to_version())
        })
        .collect();
    ranges.sort();
    let expected: Vec<(u64, u64)> = (0..50).map(|i| (2 * i + 1, 2 * i + 2)).collect();
    assert_eq!(ranges, expected, "versions must tile 1..=100 with no gap or overlap");

    let stored = read(&db, &store, &stream).await;
    assert_eq!(stored.len(), 100);
    let versions: Vec<u64> = stored.iter().map(|e| e.aggregate_version).collect();
    assert_eq!(versions, (1..=100).collect::<Vec<_>>());
    let positions: Vec<u64> = stored.iter().map(|e| e.global_position).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "positions must grow with versions");
}

//! Event ids are idempotency keys: a repeated id is reported as such, never as a conflict.

use std::sync::Arc;

use pupsourcing::{ExpectedVersion, StoreError};
use tokio::sync::Barrier;

use crate::StoreBackend;
use crate::support::{
    append, append_as_writer, assert_duplicate, event, events, global_log, read, unique_stream,
};

/// Retrying a committed append reports `DuplicateEventId` whatever the expectation, also on
/// another stream; a batch mixing new and stored ids names only the stored ones and stores nothing.
pub async fn duplicate_event_id_is_reported_not_as_conflict<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let stream = unique_stream("payment");
    let batch = events(&stream, 2);
    let ids: Vec<_> = batch.iter().map(|e| e.event_id).collect();
    append(&db, &store, ExpectedVersion::NoStream, batch.clone()).await.expect("first append");

    for expected in [
        ExpectedVersion::NoStream,
        ExpectedVersion::Exact(0),
        ExpectedVersion::Exact(2),
        ExpectedVersion::Any,
    ] {
        assert_duplicate(append(&db, &store, expected, batch.clone()).await, &ids);
    }

    let elsewhere = unique_stream("payment");
    let mut moved = event(&elsewhere, "moved");
    moved.event_id = ids[1];
    assert_duplicate(append(&db, &store, ExpectedVersion::Any, vec![moved]).await, &ids[1..]);

    let mut mixed = events(&stream, 2);
    mixed[1].event_id = ids[0];
    let fresh_id = mixed[0].event_id;
    assert_duplicate(append(&db, &store, ExpectedVersion::Exact(2), mixed).await, &ids[..1]);

    assert_eq!(read(&db, &store, &stream).await.len(), 2, "failed retries must store nothing");
    assert!(read(&db, &store, &elsewhere).await.is_empty());
    assert!(global_log(&db, &store).await.iter().all(|e| e.event.event_id != fresh_id));
}

/// Two transactions racing to append the same ids: one commits, the other reports the duplicate
/// (not a conflict), for every combination of expectations, with single events and batches (an
/// adapter may write them differently). The error names a non-empty subset of the batch (the
/// database may report only the first collision).
pub async fn racing_retries_report_duplicates<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let pairs = [
        (ExpectedVersion::NoStream, ExpectedVersion::NoStream),
        (ExpectedVersion::Any, ExpectedVersion::Any),
        (ExpectedVersion::NoStream, ExpectedVersion::Any),
        (ExpectedVersion::Exact(0), ExpectedVersion::Exact(0)),
    ];
    for (round, size) in (0..5).flat_map(|round| [1, 3].map(|size| (round, size))) {
        for (first, second) in pairs {
            let stream = unique_stream("retry");
            let batch = events(&stream, size);
            let ids: Vec<_> = batch.iter().map(|e| e.event_id).collect();
            let barrier = Arc::new(Barrier::new(2));
            let tasks: Vec<_> = [first, second]
                .into_iter()
                .enumerate()
                .map(|(writer, expected)| {
                    let (db, store, batch, barrier) =
                        (db.clone(), store.clone(), batch.clone(), Arc::clone(&barrier));
                    // Each round races the other path first.
                    let writer = writer + round;
                    tokio::spawn(async move {
                        barrier.wait().await;
                        append_as_writer(writer, &db, &store, expected, batch).await
                    })
                })
                .collect();
            let mut outcomes = Vec::new();
            for task in tasks {
                outcomes.push(task.await.expect("task"));
            }
            let successes = outcomes.iter().filter(|o| o.is_ok()).count();
            assert_eq!(
                successes, 1,
                "round {round} ({size} events) {first:?}/{second:?}: exactly one append commits"
            );
            let failure = outcomes.into_iter().find(Result::is_err).expect("one failure");
            match failure {
                Err(StoreError::DuplicateEventId { event_ids, .. }) => {
                    assert!(!event_ids.is_empty(), "the error must name a duplicate");
                    assert!(
                        event_ids.iter().all(|id| ids.contains(id)),
                        "{event_ids:?} not in the batch"
                    );
                }
                other => panic!(
                    "round {round} ({size} events) {first:?}/{second:?}: expected DuplicateEventId, got {other:?}"
                ),
            }
            assert_eq!(read(&db, &store, &stream).await.len(), size);
        }
    }
}

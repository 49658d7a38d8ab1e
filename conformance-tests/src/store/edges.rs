//! Reads at the edges of their arguments, and rows the store cannot decode.

use pupsourcing::{
    Database, EventStore, EventStoreExt, ExpectedVersion, InputError, LogQuery, MAX_POSITION,
    StoreError,
};

use crate::StoreBackend;
use crate::support::{append, events, unique_stream};

/// Every read takes any `usize` limit and any `u64` bound: limits and inclusive upper bounds
/// beyond what is stored mean "everything", lower bounds beyond the largest storable position are
/// refused with a typed error; nothing panics.
pub async fn reads_take_any_limit_and_bound<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let stream = unique_stream("edge");
    let appended = append(&db, &store, ExpectedVersion::NoStream, events(&stream, 3))
        .await
        .expect("append")
        .into_events();
    let mut tx = db.begin_read().await.expect("begin_read");

    let log = store.read_events(&mut tx, 0, usize::MAX).await.expect("read_events, usize::MAX");
    assert!(log.ends_with(&appended), "read_events with usize::MAX misses events");
    for frontier in [MAX_POSITION, u64::MAX] {
        let until = store
            .read_events_until(&mut tx, &LogQuery::up_to(frontier).limit(usize::MAX))
            .await
            .unwrap_or_else(|err| panic!("read_events_until to {frontier}: {err}"));
        assert_eq!(until, log, "read_events_until to {frontier}");
    }
    let tail = store.read_stream(&mut tx, &stream, (2..=u64::MAX).into()).await.expect("stream");
    assert_eq!(tail.events(), &appended[1..], "read_stream to u64::MAX");
    let past = store.read_stream(&mut tx, &stream, (MAX_POSITION..).into()).await.expect("stream");
    assert!(past.is_empty(), "read_stream from the largest version");

    let refused = [
        store.read_events(&mut tx, u64::MAX, 1).await.map(|_| ()),
        store
            .read_events_until(&mut tx, &LogQuery::up_to(u64::MAX).after(u64::MAX).limit(1))
            .await
            .map(|_| ()),
        store.read_stream(&mut tx, &stream, (u64::MAX..).into()).await.map(|_| ()),
    ];
    for (call, result) in refused.into_iter().enumerate() {
        assert!(
            matches!(
                result,
                Err(StoreError::InvalidInput(InputError::OutOfRange { value: u64::MAX, .. }))
            ),
            "call {call}: {result:?}"
        );
    }
    db.rollback(tx).await.expect("rollback");
}

/// A stored event that cannot be decoded fails every read that meets it with
/// [`StoreError::UnreadableEvent`] naming its position (not retryable), while reads that stop
/// before it or start after it still work.
pub async fn unreadable_event_is_reported_with_its_position<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let stream = unique_stream("broken");
    let appended = append(&db, &store, ExpectedVersion::NoStream, events(&stream, 3))
        .await
        .expect("append")
        .into_events();
    let bad = appended[1].global_position;
    backend.make_unreadable(&db, &store, bad).await;

    let mut tx = db.begin_read().await.expect("begin_read");
    let failures = [
        store.read_full_stream(&mut tx, &stream).await.map(|_| ()),
        store.read_events(&mut tx, 0, 10).await.map(|_| ()),
        store.read_events_until(&mut tx, &LogQuery::up_to(bad).limit(10)).await.map(|_| ()),
    ];
    for (call, result) in failures.into_iter().enumerate() {
        match result {
            Err(err @ StoreError::UnreadableEvent { position, .. }) => {
                assert_eq!(position, bad, "call {call}");
                assert!(!err.is_retryable(), "call {call}: must not be retryable");
                assert!(err.to_string().contains(&bad.to_string()), "call {call}: {err}");
            }
            other => panic!("call {call}: expected UnreadableEvent at {bad}, got {other:?}"),
        }
    }
    let before = store
        .read_events_until(&mut tx, &LogQuery::up_to(bad - 1).limit(10))
        .await
        .expect("before");
    assert_eq!(before.last(), appended.first(), "reads that stop before the bad row work");
    let after = store.read_events(&mut tx, bad, 10).await.expect("after");
    assert_eq!(after, &appended[2..], "reads that start after the bad row work");
    let first = store.read_stream(&mut tx, &stream, (1..=1).into()).await.expect("version 1");
    assert_eq!(first.events(), &appended[..1]);
    db.rollback(tx).await.expect("rollback");
}

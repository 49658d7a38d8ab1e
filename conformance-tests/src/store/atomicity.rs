//! All or nothing: failed batches, rollbacks and uncommitted writes leave no trace.

use pupsourcing::{
    Database, Event, EventStore, EventStoreExt, ExpectedVersion, InputError, StoreError,
};

use crate::StoreBackend;
use crate::support::{append, events, global_log, read, unique_stream, version};

/// A batch that fails on its last event (an id already stored, or invalid input) stores none of
/// its events, and its other ids stay free.
pub async fn failing_batch_stores_nothing<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let stream = unique_stream("cart");
    let stored = events(&stream, 1);
    append(&db, &store, ExpectedVersion::NoStream, stored.clone()).await.expect("seed");

    let mut batch = events(&stream, 3);
    batch[2].event_id = stored[0].event_id;
    assert!(matches!(
        append(&db, &store, ExpectedVersion::Exact(1), batch.clone()).await,
        Err(StoreError::DuplicateEventId { .. })
    ));
    let mut invalid = events(&stream, 3);
    invalid[2].event_type.clear();
    assert!(matches!(
        append(&db, &store, ExpectedVersion::Exact(1), invalid).await,
        Err(StoreError::InvalidInput(InputError::EmptyField { field: "event_type", index: 2 }))
    ));
    assert_eq!(version(&db, &store, &stream).await, 1);
    assert_eq!(global_log(&db, &store).await.len(), 1);

    let retry = batch[..2].to_vec();
    let result = append(&db, &store, ExpectedVersion::Exact(1), retry)
        .await
        .expect("ids of the failed batch are free");
    assert_eq!(result.to_version(), 3);
}

/// An append rolled back (explicitly or by dropping the transaction) leaves no event, no stream
/// version and no used id behind.
pub async fn rolled_back_append_leaves_no_trace<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let stream = unique_stream("draft");
    let batch = events(&stream, 2);

    let mut tx = db.begin().await.expect("begin");
    store.append(&mut tx, ExpectedVersion::NoStream, batch.clone()).await.expect("append");
    db.rollback(tx).await.expect("rollback");

    let mut tx = db.begin().await.expect("begin");
    store.append(&mut tx, ExpectedVersion::NoStream, batch.clone()).await.expect("append");
    drop(tx);

    assert!(read(&db, &store, &stream).await.is_empty());
    assert_eq!(version(&db, &store, &stream).await, 0);
    assert!(global_log(&db, &store).await.is_empty());
    let mut tx = db.begin_read().await.expect("begin_read");
    assert_eq!(store.latest_position(&mut tx).await.expect("latest"), 0);
    db.rollback(tx).await.expect("rollback");

    let result =
        append(&db, &store, ExpectedVersion::NoStream, batch).await.expect("ids are reusable");
    assert_eq!(result.from_version(), 1);
}

/// A transaction sees its own appends at once; others see them only after commit. Writing
/// through a read-only transaction fails.
pub async fn uncommitted_writes_are_private<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let stream = unique_stream("note");

    let mut writer = db.begin().await.expect("begin");
    let appended = store
        .append(&mut writer, ExpectedVersion::NoStream, events(&stream, 2))
        .await
        .expect("append");
    assert_eq!(store.stream_version(&mut writer, &stream).await.expect("own version"), 2);
    assert_eq!(
        store.read_full_stream(&mut writer, &stream).await.expect("own read").events(),
        appended.events()
    );
    assert_eq!(store.read_events(&mut writer, 0, 10).await.expect("own log").len(), 2);
    assert_eq!(
        store.latest_position(&mut writer).await.expect("own latest"),
        appended.last_position()
    );

    assert!(read(&db, &store, &stream).await.is_empty(), "uncommitted events leaked");
    assert_eq!(version(&db, &store, &stream).await, 0);
    assert!(global_log(&db, &store).await.is_empty());

    db.commit(writer).await.expect("commit");
    assert_eq!(read(&db, &store, &stream).await.events(), appended.events());

    let mut reader = db.begin_read().await.expect("begin_read");
    let refused = store
        .append(&mut reader, ExpectedVersion::Any, vec![Event::new(&stream, "X", Vec::new())])
        .await;
    assert!(
        matches!(refused, Err(StoreError::Backend(_))),
        "read-only transactions must refuse appends: {refused:?}"
    );
    drop(reader);
    assert_eq!(version(&db, &store, &stream).await, 2);
}

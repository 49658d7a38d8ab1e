//! Stream versions and the three expectations.

use pupsourcing::{Database, EventStore, ExpectedVersion};

use crate::StoreBackend;
use crate::support::{append, assert_conflict, events, range, read, unique_stream, version};

/// Versions run 1, 2, 3, ... across appends, and range reads are inclusive on both ends.
pub async fn versions_are_contiguous_and_ranges_inclusive<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let stream = unique_stream("counter");
    let mut expected = 0;
    for size in [2, 3, 5] {
        let result = append(&db, &store, ExpectedVersion::Exact(expected), events(&stream, size))
            .await
            .expect("append");
        assert_eq!(result.from_version(), expected + 1);
        assert_eq!(result.to_version(), expected + u64::try_from(size).expect("small"));
        expected = result.to_version();
    }
    let all = read(&db, &store, &stream).await;
    assert_eq!(
        all.iter().map(|e| e.aggregate_version).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    assert_eq!(version(&db, &store, &stream).await, 10);

    let mut tx = db.begin_read().await.expect("begin_read");
    let cases = [
        (Some(3), Some(5), vec![3, 4, 5]),
        (None, Some(2), vec![1, 2]),
        (Some(8), None, vec![8, 9, 10]),
        (Some(10), Some(10), vec![10]),
        (Some(11), None, vec![]),
        (Some(5), Some(4), vec![]),
        (Some(0), Some(1), vec![1]),
        (Some(9), Some(u64::MAX), vec![9, 10]),
    ];
    for (from, to, want) in cases {
        let got = store.read_stream(&mut tx, &stream, range(from, to)).await.expect("read range");
        let versions: Vec<u64> = got.iter().map(|e| e.aggregate_version).collect();
        assert_eq!(versions, want, "range {from:?}..={to:?}");
    }
    db.rollback(tx).await.expect("rollback");
}

/// `NoStream` appends only to a stream without events; `Exact(0)` means the same.
pub async fn no_stream_expectation<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let stream = unique_stream("user");
    append(&db, &store, ExpectedVersion::NoStream, events(&stream, 2)).await.expect("first append");
    assert_conflict(append(&db, &store, ExpectedVersion::NoStream, events(&stream, 1)).await, 2);
    assert_conflict(append(&db, &store, ExpectedVersion::Exact(0), events(&stream, 1)).await, 2);
    let fresh = unique_stream("user");
    append(&db, &store, ExpectedVersion::Exact(0), events(&fresh, 1))
        .await
        .expect("Exact(0) on new stream");
    assert_eq!(version(&db, &store, &stream).await, 2, "conflicting appends must store nothing");
}

/// `Exact(n)` appends only when the stream is at `n`; conflicts report the actual version.
pub async fn exact_expectation<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let stream = unique_stream("account");
    assert_conflict(append(&db, &store, ExpectedVersion::Exact(5), events(&stream, 1)).await, 0);
    append(&db, &store, ExpectedVersion::Exact(0), events(&stream, 3)).await.expect("create");
    assert_conflict(append(&db, &store, ExpectedVersion::Exact(2), events(&stream, 1)).await, 3);
    assert_conflict(append(&db, &store, ExpectedVersion::Exact(4), events(&stream, 1)).await, 3);
    let next =
        append(&db, &store, ExpectedVersion::Exact(3), events(&stream, 2)).await.expect("append");
    assert_eq!((next.from_version(), next.to_version()), (4, 5));
    assert_eq!(read(&db, &store, &stream).await.len(), 5, "conflicts must store nothing");
}

/// `Any` appends to new and existing streams alike.
pub async fn any_expectation<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let stream = unique_stream("log");
    let first =
        append(&db, &store, ExpectedVersion::Any, events(&stream, 2)).await.expect("new stream");
    assert_eq!(first.to_version(), 2);
    let second =
        append(&db, &store, ExpectedVersion::Any, events(&stream, 1)).await.expect("existing");
    assert_eq!((second.from_version(), second.to_version()), (3, 3));
}

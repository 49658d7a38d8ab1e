//! The MySQL store on a throwaway MariaDB (work in progress: the conformance suite needs the
//! frontier, which is not written yet).

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use pupsourcing::{Database, Event, EventStore, ExpectedVersion, StoreError, StreamId, Versions};
use pupsourcing_mysql::{MysqlDatabase, MysqlStore};
use pupsourcing_testkit::mysql::TestDatabase;

#[tokio::test]
async fn appends_and_reads_round_trip_with_typed_conflicts() {
    let database = TestDatabase::new("mysql_store_smoke").await;
    let db = MysqlDatabase::connect(database.url(), 8).await.expect("connect");
    let store = MysqlStore::new(&db);
    store.migrate().await.expect("migrate");
    store.migrate().await.expect("migrate again");

    let lower = StreamId::new("user", "abc");
    let upper = StreamId::new("user", "ABC").in_context("billing");
    let first = vec![
        Event::new(&lower, "Registered", b"{\"a\":1}".to_vec())
            .with_metadata(serde_json::json!({"n": 1.5, "t": "x"}))
            .with_trace_id("trace-1"),
        Event::new(&lower, "Renamed", vec![0, 159, 255]),
    ];
    let mut tx = db.begin().await.unwrap();
    let appended = store.append(&mut tx, ExpectedVersion::NoStream, first.clone()).await.unwrap();
    assert_eq!((appended.from_version(), appended.to_version()), (1, 2));
    store
        .append(&mut tx, ExpectedVersion::Any, vec![Event::new(&upper, "Opened", vec![])])
        .await
        .unwrap();
    db.commit(tx).await.unwrap();

    let mut tx = db.begin_read().await.unwrap();
    let read = store.read_stream(&mut tx, &lower, Versions::all()).await.unwrap();
    let stored: Vec<Event> = read.events().iter().map(|e| e.event.clone()).collect();
    assert_eq!(stored, first, "every field reads back");
    assert_eq!(store.stream_version(&mut tx, &upper).await.unwrap(), 1, "ABC is its own stream");
    assert_eq!(store.latest_position(&mut tx).await.unwrap(), 3);
    assert_eq!(store.read_events(&mut tx, 0, 10).await.unwrap().len(), 3);
    db.rollback(tx).await.unwrap();

    let mut tx = db.begin().await.unwrap();
    let refused = store
        .append(&mut tx, ExpectedVersion::Exact(1), vec![Event::new(&lower, "X", vec![])])
        .await;
    assert!(matches!(refused, Err(StoreError::Conflict { actual: 2, .. })), "{refused:?}");
    let refused = store
        .append(&mut tx, ExpectedVersion::NoStream, vec![Event::new(&lower, "X", vec![])])
        .await;
    assert!(matches!(refused, Err(StoreError::Conflict { actual: 2, .. })), "{refused:?}");
    let again = vec![first[0].clone()];
    let refused = store.append(&mut tx, ExpectedVersion::Any, again).await;
    assert!(matches!(refused, Err(StoreError::DuplicateEventId { .. })), "{refused:?}");
    let moved = store
        .append(&mut tx, ExpectedVersion::Exact(2), vec![Event::new(&lower, "Y", vec![])])
        .await;
    assert_eq!(moved.unwrap().to_version(), 3);
    db.commit(tx).await.unwrap();
}

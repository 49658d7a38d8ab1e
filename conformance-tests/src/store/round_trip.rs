//! Every field survives a round trip; reads of what was never written are empty.

use chrono::{DateTime, Utc};
use pupsourcing::{Database, Event, EventStore, ExpectedVersion, StreamId};
use serde_json::json;
use uuid::Uuid;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use pupsourcing_testkit::strategies;

use crate::StoreBackend;
use crate::support::{append, event, global_log, read, unique_stream, version};

/// Every field of every event reads back exactly as appended, from the stream and the global log.
pub async fn round_trip_preserves_every_field<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let stream = unique_stream("order").in_context("sales");
    let instant = DateTime::<Utc>::from_timestamp(1_712_345_678, 123_456_000).expect("timestamp");
    let full = Event {
        stream: stream.clone(),
        event_id: Uuid::new_v4(),
        event_type: "OrderPlaced".into(),
        event_version: 3,
        payload: (0..=255u8).collect(),
        metadata: json!({
            "tenant": "acme", "nested": { "list": [1, -2, 3.5, true, null], "empty": {} },
            "unicode": "grüße 🌍", "big": 9_007_199_254_740_993u64
        }),
        created_at: instant,
        trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736".into()),
        correlation_id: Some("request-17".into()),
        causation_id: Some(Uuid::new_v4().to_string()),
    };
    let bare = Event::new(&stream, "OrderPaid", Vec::new()).with_metadata(json!(null));
    let appended = append(&db, &store, ExpectedVersion::NoStream, vec![full.clone(), bare.clone()])
        .await
        .expect("append");

    assert_eq!(appended.stream(), &stream);
    assert_eq!((appended.from_version(), appended.to_version()), (1, 2));
    assert_eq!(appended.events()[0].event, full);
    assert_eq!(appended.events()[1].event, bare);

    let read_back = read(&db, &store, &stream).await;
    assert_eq!(read_back.events(), appended.events(), "stream read differs from append result");
    let log = global_log(&db, &store).await;
    assert_eq!(log, appended.events(), "global log differs from append result");
    assert!(appended.events()[0].global_position < appended.events()[1].global_position);
}

/// Randomly generated events (any text, JSON, bytes, timestamps from year 1 to 9999) read back
/// exactly as appended.
pub async fn random_events_round_trip<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let mut runner = TestRunner::deterministic();
    let batches = strategies::stream_id().prop_flat_map(|stream| strategies::events(stream, 5));
    for case in 0..32 {
        let batch = batches.new_tree(&mut runner).expect("generate").current();
        let stream = batch[0].stream.clone();
        let appended = append(&db, &store, ExpectedVersion::Any, batch.clone())
            .await
            .unwrap_or_else(|err| panic!("case {case}: append of generated events failed: {err}"));
        let stored: Vec<Event> = appended.events().iter().map(|e| e.event.clone()).collect();
        assert_eq!(stored, batch, "case {case}: the append result differs from the input");
        let read_back = read(&db, &store, &stream).await;
        let tail = &read_back.events()[read_back.len() - batch.len()..];
        assert_eq!(tail, appended.events(), "case {case}: the stored events differ");
    }
}

/// A 64 MiB payload, the default limit, is stored and read back byte for byte.
pub async fn large_payload_round_trips<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let stream = unique_stream("blob");
    let size = pupsourcing::AppendLimits::default().max_payload_bytes;
    let payload: Vec<u8> = (0..size).map(|i| u8::try_from(i % 251).expect("fits")).collect();
    let big = Event::new(&stream, "Uploaded", payload);
    append(&db, &store, ExpectedVersion::NoStream, vec![big.clone()]).await.expect("append 64 MiB");
    let read_back = read(&db, &store, &stream).await;
    assert_eq!(read_back.len(), 1);
    assert!(read_back.events()[0].event.payload == big.payload, "payload bytes differ");
}

/// A stream that was never written reads as empty at version 0, and an empty log as empty.
pub async fn unknown_stream_reads_as_empty<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let stream = unique_stream("ghost");
    let read_back = read(&db, &store, &stream).await;
    assert!(read_back.is_empty());
    assert_eq!(read_back.last_read_version(), 0);
    assert_eq!(read_back.id(), &stream);
    assert_eq!(version(&db, &store, &stream).await, 0);
    let mut tx = db.begin_read().await.expect("begin_read");
    assert_eq!(store.latest_position(&mut tx).await.expect("latest"), 0);
    assert!(store.read_events(&mut tx, 0, 10).await.expect("read_events").is_empty());
    db.rollback(tx).await.expect("rollback");
}

/// The same aggregate type and id in two bounded contexts (and in none) are three streams.
pub async fn bounded_contexts_separate_streams<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let id = Uuid::new_v4().to_string();
    let plain = StreamId::new("user", id.clone());
    let billing = plain.clone().in_context("billing");
    let support = plain.clone().in_context("support");
    for (stream, count) in [(&plain, 1), (&billing, 2), (&support, 3)] {
        let batch = (0..count).map(|i| event(stream, &i.to_string())).collect();
        append(&db, &store, ExpectedVersion::NoStream, batch).await.expect("append");
    }
    for (stream, count) in [(&plain, 1), (&billing, 2), (&support, 3)] {
        let read_back = read(&db, &store, stream).await;
        assert_eq!(read_back.last_read_version(), count);
        assert!(read_back.iter().all(|e| e.stream() == stream), "events leaked across contexts");
    }
}

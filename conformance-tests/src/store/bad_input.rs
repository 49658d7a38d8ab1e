//! Bad input gets a typed error before any SQL runs, and nothing stored changes.

use chrono::DateTime;
use pupsourcing::{
    AppendLimits, Database, Event, EventStore, ExpectedVersion, InputError, MAX_EVENT_VERSION,
    StoreError, StreamId,
};
use serde_json::json;
use uuid::Uuid;

use crate::StoreBackend;
use crate::support::{append, event, global_log, read, unique_stream};

type Check = fn(&InputError) -> bool;

/// Every kind of bad append and read argument is refused with its own [`InputError`], and the
/// stored data is exactly what it was before.
pub async fn bad_input_is_typed_and_changes_nothing<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let stream = unique_stream("guarded");
    append(&db, &store, ExpectedVersion::NoStream, vec![event(&stream, "seed")])
        .await
        .expect("seed");
    let before = global_log(&db, &store).await;

    let ok = || event(&stream, "x");
    let with = |f: fn(&mut Event)| {
        let mut e = ok();
        f(&mut e);
        e
    };
    let same_id = ok();
    let cases: Vec<(&str, ExpectedVersion, Vec<Event>, Check)> = vec![
        ("empty batch", ExpectedVersion::Any, vec![], |e| matches!(e, InputError::EmptyAppend)),
        (
            "two streams",
            ExpectedVersion::Any,
            vec![ok(), event(&unique_stream("other"), "y")],
            |e| matches!(e, InputError::MixedStreams { index: 1, .. }),
        ),
        (
            "empty aggregate type",
            ExpectedVersion::Any,
            vec![event(&StreamId::new("", "1"), "x")],
            |e| matches!(e, InputError::EmptyField { field: "aggregate_type", .. }),
        ),
        (
            "empty aggregate id",
            ExpectedVersion::Any,
            vec![event(&StreamId::new("t", ""), "x")],
            |e| matches!(e, InputError::EmptyField { field: "aggregate_id", .. }),
        ),
        (
            "empty context",
            ExpectedVersion::Any,
            vec![event(&StreamId::new("t", "1").in_context(""), "x")],
            |e| matches!(e, InputError::EmptyField { field: "bounded_context", .. }),
        ),
        ("empty event type", ExpectedVersion::Any, vec![with(|e| e.event_type.clear())], |e| {
            matches!(e, InputError::EmptyField { field: "event_type", .. })
        }),
        ("NUL in id", ExpectedVersion::Any, vec![event(&StreamId::new("t", "a\0b"), "x")], |e| {
            matches!(e, InputError::NulCharacter { field: "aggregate_id", .. })
        }),
        (
            "NUL in metadata",
            ExpectedVersion::Any,
            vec![with(|e| e.metadata = json!({"k\0": 1}))],
            |e| matches!(e, InputError::NulCharacter { field: "metadata", .. }),
        ),
        ("nil id", ExpectedVersion::Any, vec![with(|e| e.event_id = Uuid::nil())], |e| {
            matches!(e, InputError::NilEventId { index: 0 })
        }),
        ("id twice", ExpectedVersion::Any, vec![same_id.clone(), same_id], |e| {
            matches!(e, InputError::DuplicateIdInBatch { index: 1, .. })
        }),
        (
            "long type",
            ExpectedVersion::Any,
            vec![event(&StreamId::new("t".repeat(513), "1"), "x")],
            |e| matches!(e, InputError::FieldTooLong { field: "aggregate_type", len: 513, .. }),
        ),
        (
            "event version",
            ExpectedVersion::Any,
            vec![with(|e| e.event_version = MAX_EVENT_VERSION + 1)],
            |e| matches!(e, InputError::EventVersionOutOfRange { .. }),
        ),
        (
            "year 10000",
            ExpectedVersion::Any,
            vec![with(|e| {
                e.created_at = DateTime::from_timestamp(253_402_300_800, 0).expect("representable")
            })],
            |e| matches!(e, InputError::TimestampOutOfRange { .. }),
        ),
        (
            "oversized payload",
            ExpectedVersion::Any,
            vec![with(|e| e.payload = vec![0; AppendLimits::default().max_payload_bytes + 1])],
            |e| matches!(e, InputError::PayloadTooLarge { index: 0, .. }),
        ),
        ("expected version beyond BIGINT", ExpectedVersion::Exact(u64::MAX), vec![ok()], |e| {
            matches!(e, InputError::OutOfRange { what: "expected version", .. })
        }),
    ];
    for (name, expected, batch, check) in cases {
        match append(&db, &store, expected, batch).await {
            Err(StoreError::InvalidInput(err)) => {
                assert!(check(&err), "{name}: wrong error {err:?}")
            }
            other => panic!("{name}: expected InvalidInput, got {other:?}"),
        }
    }

    let mut tx = db.begin_read().await.expect("begin_read");
    let beyond = store.read_events(&mut tx, u64::MAX, 10).await;
    assert!(
        matches!(beyond, Err(StoreError::InvalidInput(InputError::OutOfRange { .. }))),
        "{beyond:?}"
    );
    drop(tx);
    let mut tx = db.begin_read().await.expect("begin_read");
    let from = store.read_stream(&mut tx, &stream, (u64::MAX..).into()).await;
    assert!(
        matches!(from, Err(StoreError::InvalidInput(InputError::OutOfRange { .. }))),
        "{from:?}"
    );
    drop(tx);

    assert_eq!(global_log(&db, &store).await, before, "bad input changed stored data");
    assert_eq!(read(&db, &store, &stream).await.last_read_version(), 1);
}

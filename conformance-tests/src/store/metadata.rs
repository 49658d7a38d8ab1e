//! Metadata and timestamps read back exactly as the append returned them, on every backend, and
//! what no reader could read back is refused before anything is stored.

use chrono::NaiveDate;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use pupsourcing::{
    Database, Event, EventStore, ExpectedVersion, InputError, MAX_METADATA_DEPTH, StoreError,
};
use pupsourcing_testkit::strategies;
use serde_json::Value;

use crate::StoreBackend;
use crate::support::{append, global_log, read, unique_stream};

/// Arbitrary JSON metadata (any finite float, `-0.0`, `1e16`, any Unicode, hundreds of keys,
/// nesting down to the limit) reads back with the same text, from the stream and the log.
pub async fn arbitrary_metadata_round_trips_exactly<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let mut runner = TestRunner::deterministic();
    let stream = unique_stream("meta");
    let metadata = strategies::json();
    let mut appended = Vec::new();
    for case in 0..48 {
        let value = metadata.new_tree(&mut runner).expect("generate").current();
        let event = Event::new(&stream, "Noted", Vec::new()).with_metadata(value);
        let result = append(&db, &store, ExpectedVersion::Any, vec![event.clone()])
            .await
            .unwrap_or_else(|err| panic!("case {case}: append failed: {err}"));
        assert_eq!(result.events()[0].event, event, "case {case}: the append result differs");
        appended.push(event);
    }
    for (name, stored) in [
        ("stream", read(&db, &store, &stream).await.events().to_vec()),
        ("global log", global_log(&db, &store).await),
    ] {
        assert_eq!(stored.len(), appended.len(), "{name}: event count");
        for (case, (stored, sent)) in stored.iter().zip(&appended).enumerate() {
            assert_eq!(
                stored.event.metadata.to_string(),
                sent.metadata.to_string(),
                "{name}, case {case}: metadata text changed"
            );
            assert_eq!(stored.event, *sent, "{name}, case {case}: event changed");
        }
    }
}

/// Numbers that JSON stores like to normalize keep their exact form.
pub async fn awkward_numbers_keep_their_form<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let stream = unique_stream("numbers");
    let text = concat!(
        r#"{"big":1e16,"huge":1.7976931348623157e308,"integral":3.0,"#,
        r#""max":18446744073709551615,"min":-9223372036854775808,"negative_zero":-0.0,"#,
        r#""third":0.3333333333333333,"tiny":5e-324}"#
    );
    let metadata: Value = serde_json::from_str(text).expect("valid JSON");
    let sent = metadata.to_string();
    let event = Event::new(&stream, "Measured", Vec::new()).with_metadata(metadata);
    append(&db, &store, ExpectedVersion::NoStream, vec![event]).await.expect("append");
    let stored = read(&db, &store, &stream).await.events()[0].event.metadata.clone();
    assert_eq!(stored.to_string(), sent, "metadata numbers were normalized");
    assert!(stored["negative_zero"].as_f64().is_some_and(|z| z == 0.0 && z.is_sign_negative()));
    assert!(stored["big"].is_f64(), "1e16 must stay a float");
}

/// Metadata nested exactly [`MAX_METADATA_DEPTH`] levels deep is stored and read back; one level
/// more, or a million (which must not exhaust the stack), is refused with a typed error and
/// nothing is stored.
pub async fn too_deep_metadata_is_refused_and_changes_nothing<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let stream = unique_stream("deep");
    let at_limit =
        Event::new(&stream, "Deep", Vec::new()).with_metadata(nested(MAX_METADATA_DEPTH));
    append(&db, &store, ExpectedVersion::NoStream, vec![at_limit.clone()])
        .await
        .expect("metadata at the depth limit is accepted");
    let stored = read(&db, &store, &stream).await;
    assert_eq!(stored.events()[0].event, at_limit, "metadata at the limit reads back");
    let before = global_log(&db, &store).await;

    for depth in [MAX_METADATA_DEPTH + 1, 1_000_000] {
        let good = Event::new(&stream, "Fine", Vec::new());
        let deep = Event::new(&stream, "Deep", Vec::new()).with_metadata(nested(depth));
        let refused = append(&db, &store, ExpectedVersion::Any, vec![good, deep]).await;
        assert!(
            matches!(
                refused,
                Err(StoreError::InvalidInput(InputError::MetadataTooDeep { index: 1, max }))
                    if max == MAX_METADATA_DEPTH
            ),
            "depth {depth}: {refused:?}"
        );
    }
    assert_eq!(global_log(&db, &store).await, before, "a refused append stored something");
}

/// A leap second (`23:59:60.5`) is folded into the next second the same way on every backend,
/// and what the append returned is what every read returns.
pub async fn leap_seconds_fold_the_same_everywhere<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let stream = unique_stream("leap");
    let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
        .and_then(|d| d.and_hms_micro_opt(23, 59, 59, 1_500_000))
        .expect("leap second")
        .and_utc();
    let mut event = Event::new(&stream, "Ticked", Vec::new());
    event.created_at = leap;
    let result = append(&db, &store, ExpectedVersion::NoStream, vec![event]).await.expect("append");
    let folded = NaiveDate::from_ymd_opt(2017, 1, 1)
        .and_then(|d| d.and_hms_micro_opt(0, 0, 0, 500_000))
        .expect("timestamp")
        .and_utc();
    assert_eq!(result.events()[0].event.created_at, folded, "the append result");
    assert_eq!(read(&db, &store, &stream).await.events(), result.events(), "the stream read");
    let mut tx = db.begin_read().await.expect("begin_read");
    let log = store.read_events(&mut tx, 0, usize::MAX).await.expect("read_events");
    db.rollback(tx).await.expect("rollback");
    assert_eq!(log, result.events(), "the log read");
}

/// Arrays and objects alternating, `depth` levels deep, built and dropped without recursion by
/// the store (the value is moved into the append).
fn nested(depth: usize) -> Value {
    let mut value = Value::from(1.5);
    for level in 0..depth {
        value = if level % 2 == 0 {
            Value::Array(vec![value])
        } else {
            Value::Object(std::iter::once(("k".to_owned(), value)).collect())
        };
    }
    value
}

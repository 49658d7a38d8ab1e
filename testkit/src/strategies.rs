//! proptest strategies for the store's inputs.
//!
//! Values stay inside what every backend stores exactly: text without NUL characters, timestamps
//! at microsecond precision between the years 1 and 9999, JSON numbers that round-trip through
//! PostgreSQL's `jsonb`.

use chrono::{DateTime, Utc};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use pupsourcing::{Event, StreamId};
use serde_json::{Map, Number, Value};
use uuid::Uuid;

/// Text without NUL characters, any Unicode otherwise.
pub fn text(max_len: usize) -> impl Strategy<Value = String> {
    vec(any::<char>().prop_filter("no NUL", |c| *c != '\0'), 0..=max_len)
        .prop_map(|chars| chars.into_iter().collect())
}

/// Non-empty text without NUL characters.
pub fn name() -> impl Strategy<Value = String> {
    text(24).prop_filter("non-empty", |s| !s.is_empty())
}

/// A stream id, with or without a bounded context.
pub fn stream_id() -> impl Strategy<Value = StreamId> {
    (proptest::option::of(name()), name(), name()).prop_map(|(context, kind, id)| {
        let stream = StreamId::new(kind, id);
        match context {
            Some(context) => stream.in_context(context),
            None => stream,
        }
    })
}

/// A UTC timestamp with microsecond precision between the years 1 and 9999.
pub fn timestamp() -> impl Strategy<Value = DateTime<Utc>> {
    (-62_135_596_800i64..253_402_300_799i64, 0u32..1_000_000u32)
        .prop_filter_map("representable", |(seconds, micros)| {
            DateTime::from_timestamp(seconds, micros * 1_000)
        })
}

/// A JSON document: nested objects and arrays of strings, integers, decimals, booleans and nulls.
pub fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| Value::Number(n.into())),
        any::<u64>().prop_map(|n| Value::Number(n.into())),
        any::<i32>().prop_filter_map("finite", |n| {
            Number::from_f64(f64::from(n) / 1000.0).map(Value::Number)
        }),
        text(16).prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(text(8), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// An event of `stream` with every field drawn at random.
pub fn event(stream: StreamId) -> impl Strategy<Value = Event> {
    (
        name(),
        0u32..=pupsourcing::MAX_EVENT_VERSION,
        vec(any::<u8>(), 0..256),
        json(),
        timestamp(),
        proptest::option::of(text(32)),
        proptest::option::of(text(32)),
        proptest::option::of(text(32)),
    )
        .prop_map(
            move |(
                event_type,
                version,
                payload,
                metadata,
                created_at,
                trace,
                correlation,
                causation,
            )| {
                Event {
                    stream: stream.clone(),
                    event_id: Uuid::new_v4(),
                    event_type,
                    event_version: version,
                    payload,
                    metadata,
                    created_at,
                    trace_id: trace,
                    correlation_id: correlation,
                    causation_id: causation,
                }
            },
        )
}

/// Between 1 and `max` events of `stream`.
pub fn events(stream: StreamId, max: usize) -> impl Strategy<Value = Vec<Event>> {
    vec(event(stream), 1..=max.max(1))
}

#[cfg(test)]
mod tests {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    use super::*;

    #[test]
    fn generated_events_pass_the_store_validation() {
        let mut runner = TestRunner::deterministic();
        for _ in 0..64 {
            let stream = stream_id().new_tree(&mut runner).unwrap().current();
            let mut batch = events(stream, 4).new_tree(&mut runner).unwrap().current();
            let prepared = pupsourcing::prepare_append(
                &mut batch,
                pupsourcing::ExpectedVersion::Any,
                &pupsourcing::AppendLimits::default(),
            );
            assert!(prepared.is_ok(), "{prepared:?}");
        }
    }
}

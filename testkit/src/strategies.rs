//! proptest strategies for the store's inputs.
//!
//! Values cover everything the store accepts, which every backend must read back exactly: text
//! without NUL characters, timestamps at microsecond precision between the years 1 and 9999, and
//! JSON metadata of any finite number (the awkward ones weighted in), any Unicode, wide objects and
//! nesting down to [`MAX_METADATA_DEPTH`].

use chrono::{DateTime, Utc};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use pupsourcing::{Event, MAX_METADATA_DEPTH, StreamId};
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

/// Any finite `f64`, with the values JSON codecs tend to change weighted in: `-0.0`, integral
/// floats such as `1e16`, subnormals, the extremes and fractions without a short decimal form.
pub fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => any::<f64>().prop_filter("finite", |f| f.is_finite()),
        1 => proptest::sample::select(vec![
            -0.0,
            0.0,
            1e16,
            -1e16,
            1e300,
            2.5e-308,
            5e-324,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            0.1,
            1.0 / 3.0,
            9_007_199_254_740_993.0,
        ]),
    ]
}

/// A JSON leaf: null, a boolean, any integer, any finite float, any text.
pub fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| Value::Number(n.into())),
        any::<u64>().prop_map(|n| Value::Number(n.into())),
        float().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        text(16).prop_map(Value::String),
    ]
}

/// A JSON document for metadata: nested objects and arrays of [`json_leaf`]s, sometimes with
/// hundreds of keys, sometimes wrapped down to [`MAX_METADATA_DEPTH`] levels.
pub fn json() -> impl Strategy<Value = Value> {
    let tree = json_leaf().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            4 => vec(inner.clone(), 0..6).prop_map(Value::Array),
            4 => btree_map(text(8), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>())),
            1 => btree_map(text(12), json_leaf(), 100..300)
                .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>())),
        ]
    });
    let wrappers = prop_oneof![
        3 => Just(Vec::new()),
        1 => vec(proptest::option::of(text(8)), 0..=MAX_METADATA_DEPTH - 4),
    ];
    (tree, wrappers).prop_map(|(mut value, wrappers)| {
        for wrapper in wrappers {
            value = match wrapper {
                Some(key) => Value::Object(std::iter::once((key, value)).collect()),
                None => Value::Array(vec![value]),
            };
        }
        value
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
            let prepared = pupsourcing::spi::prepare_append(
                &mut batch,
                pupsourcing::ExpectedVersion::Any,
                &pupsourcing::AppendLimits::default(),
            );
            assert!(prepared.is_ok(), "{prepared:?}");
        }
    }
}

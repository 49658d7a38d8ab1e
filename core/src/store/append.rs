//! What an append returns, and the input checks every adapter runs before touching its database.
//!
//! The checks live here, once, so that the adapters cannot drift apart on what they accept: a
//! batch refused by one backend is refused by all, with the same [`InputError`].

use std::collections::HashSet;

use serde_json::Value;

use crate::{Event, ExpectedVersion, InputError, PersistedEvent, StreamId, normalize_timestamp};

/// The outcome of a successful append: the events as stored, in version order.
#[derive(Debug, Clone, PartialEq)]
pub struct AppendResult {
    stream: StreamId,
    from_version: u64,
    to_version: u64,
    events: Vec<PersistedEvent>,
}

impl AppendResult {
    /// Wraps the persisted events of one append to `stream`, in version order.
    pub fn new(stream: StreamId, events: Vec<PersistedEvent>) -> Self {
        let from_version = events.first().map_or(0, |e| e.aggregate_version);
        let to_version = events.last().map_or(0, |e| e.aggregate_version);
        Self { stream, from_version, to_version, events }
    }

    /// The stream appended to.
    pub fn stream(&self) -> &StreamId {
        &self.stream
    }

    /// The version of the first appended event.
    pub fn from_version(&self) -> u64 {
        self.from_version
    }

    /// The version of the last appended event: the stream's new version.
    pub fn to_version(&self) -> u64 {
        self.to_version
    }

    /// The global positions assigned, in version order.
    pub fn global_positions(&self) -> Vec<u64> {
        self.events.iter().map(|e| e.global_position).collect()
    }

    /// The highest global position assigned.
    pub fn last_position(&self) -> u64 {
        self.events.iter().map(|e| e.global_position).max().unwrap_or(0)
    }

    /// The persisted events.
    pub fn events(&self) -> &[PersistedEvent] {
        &self.events
    }

    /// Takes the persisted events out.
    pub fn into_events(self) -> Vec<PersistedEvent> {
        self.events
    }
}

/// Size limits an adapter enforces on appends before sending anything to the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendLimits {
    /// Largest payload of one event, in bytes. Default 64 MiB.
    pub max_payload_bytes: usize,
    /// Largest sum of payload bytes in one append. Default 512 MiB (PostgreSQL refuses a single
    /// parameter of 1 GiB or more, and the batch travels as one array parameter).
    pub max_batch_bytes: usize,
    /// Longest bounded context, aggregate type, aggregate id or event type, in bytes. Default 512,
    /// which keeps the stream index entry within PostgreSQL's B-tree row limit.
    pub max_name_bytes: usize,
}

impl Default for AppendLimits {
    fn default() -> Self {
        Self {
            max_payload_bytes: 64 * 1024 * 1024,
            max_batch_bytes: 512 * 1024 * 1024,
            max_name_bytes: 512,
        }
    }
}

/// The largest `event_version` the schema stores (an SQL `INTEGER`).
pub const MAX_EVENT_VERSION: u32 = 0x7fff_ffff;

/// The largest position or version the schema stores (an SQL `BIGINT`).
pub const MAX_POSITION: u64 = 0x7fff_ffff_ffff_ffff;

/// The deepest nesting of arrays and objects that metadata may have: `{}` is depth 1,
/// `{"a": [1]}` depth 2. Every JSON reader the backends use refuses 128 levels, so anything the
/// store accepted at a deeper level could never be read back; 64 leaves room below that.
pub const MAX_METADATA_DEPTH: usize = 64;

/// Readies a batch for storage, the same way on every adapter: normalizes `created_at` as every
/// backend stores it ([`normalize_timestamp`]), checks the batch against the shared rules
/// (non-empty, one stream, required fields present and free of NUL characters, names within
/// `limits`, metadata no deeper than [`MAX_METADATA_DEPTH`], non-nil unique event ids, event
/// versions, timestamps and payloads within range) and returns the stream. Payloads are never
/// parsed: any bytes are stored as they are.
///
/// Metadata is checked without recursion, and the metadata of a refused batch is taken apart
/// without recursion too (it is left `null`), so no input can exhaust the stack.
pub fn prepare_append(
    events: &mut [Event],
    expected: ExpectedVersion,
    limits: &AppendLimits,
) -> Result<StreamId, InputError> {
    for event in events.iter_mut() {
        event.created_at = normalize_timestamp(event.created_at);
    }
    let checked = expected
        .required_version()
        .map_or(Ok(()), |version| check_position("expected version", version))
        .and_then(|()| validate(events, limits));
    if let Err(err) = checked {
        // The batch is dropped with the error; any of its metadata may be deeper than a
        // recursive drop can take.
        for event in events.iter_mut() {
            dismantle(std::mem::take(&mut event.metadata));
        }
        return Err(err);
    }
    events.first().map(|e| e.stream.clone()).ok_or(InputError::EmptyAppend)
}

fn validate(events: &[Event], limits: &AppendLimits) -> Result<(), InputError> {
    let first = events.first().ok_or(InputError::EmptyAppend)?;
    let mut seen = HashSet::with_capacity(events.len());
    let mut batch_bytes = 0usize;
    for (index, event) in events.iter().enumerate() {
        if event.stream != first.stream {
            return Err(InputError::MixedStreams {
                expected: Box::new(first.stream.clone()),
                found: Box::new(event.stream.clone()),
                index,
            });
        }
        check_name("aggregate_type", event.stream.aggregate_type(), index, limits)?;
        check_name("aggregate_id", event.stream.aggregate_id(), index, limits)?;
        if let Some(context) = event.stream.bounded_context() {
            check_name("bounded_context", context, index, limits)?;
        }
        check_name("event_type", &event.event_type, index, limits)?;
        for (field, value) in [
            ("trace_id", &event.trace_id),
            ("correlation_id", &event.correlation_id),
            ("causation_id", &event.causation_id),
        ] {
            if value.as_deref().is_some_and(|v| v.contains('\0')) {
                return Err(InputError::NulCharacter { field, index });
            }
        }
        match inspect_metadata(&event.metadata) {
            Ok(()) => {}
            Err(MetadataProblem::Nul) => {
                return Err(InputError::NulCharacter { field: "metadata", index });
            }
            Err(MetadataProblem::TooDeep) => {
                return Err(InputError::MetadataTooDeep { index, max: MAX_METADATA_DEPTH });
            }
        }
        if event.event_id.is_nil() {
            return Err(InputError::NilEventId { index });
        }
        if !seen.insert(event.event_id) {
            return Err(InputError::DuplicateIdInBatch { event_id: event.event_id, index });
        }
        if event.event_version > MAX_EVENT_VERSION {
            return Err(InputError::EventVersionOutOfRange {
                index,
                version: event.event_version,
                max: MAX_EVENT_VERSION,
            });
        }
        if !(MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&event.created_at.timestamp()) {
            return Err(InputError::TimestampOutOfRange { index, created_at: event.created_at });
        }
        let size = event.payload.len();
        if size > limits.max_payload_bytes {
            return Err(InputError::PayloadTooLarge { index, size, max: limits.max_payload_bytes });
        }
        batch_bytes = batch_bytes.saturating_add(size);
    }
    if batch_bytes > limits.max_batch_bytes {
        return Err(InputError::BatchTooLarge { size: batch_bytes, max: limits.max_batch_bytes });
    }
    Ok(())
}

/// `0001-01-01T00:00:00Z`: the earliest `created_at` every backend stores and sorts correctly.
const MIN_TIMESTAMP: i64 = -62_135_596_800;
/// `9999-12-31T23:59:59Z`: the latest `created_at` every backend stores and sorts correctly.
const MAX_TIMESTAMP: i64 = 253_402_300_799;

/// Checks that a position or version argument fits the schema's `BIGINT`.
pub fn check_position(what: &'static str, value: u64) -> Result<(), InputError> {
    if value > MAX_POSITION {
        return Err(InputError::OutOfRange { what, value });
    }
    Ok(())
}

pub(crate) fn check_name(
    field: &'static str,
    value: &str,
    index: usize,
    limits: &AppendLimits,
) -> Result<(), InputError> {
    if value.is_empty() {
        return Err(InputError::EmptyField { field, index });
    }
    if value.contains('\0') {
        return Err(InputError::NulCharacter { field, index });
    }
    if value.len() > limits.max_name_bytes {
        return Err(InputError::FieldTooLong {
            field,
            index,
            len: value.len(),
            max: limits.max_name_bytes,
        });
    }
    Ok(())
}

enum MetadataProblem {
    Nul,
    TooDeep,
}

/// Walks `value` with an explicit stack, refusing NUL characters in strings and keys and
/// nesting deeper than [`MAX_METADATA_DEPTH`].
fn inspect_metadata(value: &Value) -> Result<(), MetadataProblem> {
    let mut pending = vec![(value, 0usize)];
    while let Some((value, depth)) = pending.pop() {
        let depth = match value {
            Value::Array(_) | Value::Object(_) => depth + 1,
            _ => depth,
        };
        if depth > MAX_METADATA_DEPTH {
            return Err(MetadataProblem::TooDeep);
        }
        match value {
            Value::String(s) if s.contains('\0') => return Err(MetadataProblem::Nul),
            Value::Array(items) => pending.extend(items.iter().map(|item| (item, depth))),
            Value::Object(map) => {
                if map.keys().any(|k| k.contains('\0')) {
                    return Err(MetadataProblem::Nul);
                }
                pending.extend(map.values().map(|item| (item, depth)));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Drops `value` without recursion (serde_json's own drop recurses once per level).
fn dismantle(value: Value) {
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => pending.extend(map.into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use uuid::Uuid;

    use super::*;

    fn event(stream: &StreamId) -> Event {
        Event::new(stream, "Happened", b"{}".to_vec())
    }

    fn check(events: &[Event]) -> Result<(), InputError> {
        prepare_append(&mut events.to_vec(), ExpectedVersion::Any, &AppendLimits::default())
            .map(|_| ())
    }

    #[test]
    fn accepts_a_well_formed_batch() {
        let s = StreamId::new("t", "1").in_context("ctx");
        assert_eq!(check(&[event(&s), event(&s)]), Ok(()));
    }

    #[test]
    fn truncates_timestamps_and_returns_the_stream() {
        let s = StreamId::new("t", "1");
        let mut e = event(&s);
        e.created_at = chrono::DateTime::from_timestamp(1_700_000_000, 999_999_999).unwrap();
        let mut batch = vec![e];
        assert_eq!(
            prepare_append(&mut batch, ExpectedVersion::Any, &AppendLimits::default()),
            Ok(s.clone())
        );
        assert!(matches!(
            prepare_append(
                &mut batch,
                ExpectedVersion::Exact(MAX_POSITION + 1),
                &AppendLimits::default()
            ),
            Err(InputError::OutOfRange { what: "expected version", .. })
        ));
        assert_eq!(batch[0].created_at.timestamp_subsec_nanos(), 999_999_000);
    }

    #[test]
    fn refuses_timestamps_outside_four_digit_years() {
        let s = StreamId::new("t", "1");
        let mut e = event(&s);
        e.created_at = chrono::DateTime::from_timestamp(MAX_TIMESTAMP + 1, 0).unwrap();
        assert!(matches!(check(&[e]), Err(InputError::TimestampOutOfRange { index: 0, .. })));
    }

    #[test]
    fn refuses_each_kind_of_bad_input() {
        let s = StreamId::new("t", "1");
        assert_eq!(check(&[]), Err(InputError::EmptyAppend));

        let other = StreamId::new("t", "2");
        assert!(matches!(
            check(&[event(&s), event(&other)]),
            Err(InputError::MixedStreams { index: 1, .. })
        ));
        assert!(matches!(
            check(&[event(&StreamId::new("", "1"))]),
            Err(InputError::EmptyField { field: "aggregate_type", index: 0 })
        ));
        assert!(matches!(
            check(&[event(&StreamId::new("t", ""))]),
            Err(InputError::EmptyField { field: "aggregate_id", .. })
        ));
        assert!(matches!(
            check(&[event(&StreamId::new("t", "1").in_context(""))]),
            Err(InputError::EmptyField { field: "bounded_context", .. })
        ));
        let mut untyped = event(&s);
        untyped.event_type.clear();
        assert!(matches!(
            check(&[untyped]),
            Err(InputError::EmptyField { field: "event_type", .. })
        ));
        assert!(matches!(
            check(&[event(&StreamId::new("t\0", "1"))]),
            Err(InputError::NulCharacter { field: "aggregate_type", .. })
        ));
        let nul_meta = event(&s).with_metadata(json!({ "k": ["a\u{0}b"] }));
        assert!(matches!(
            check(&[nul_meta]),
            Err(InputError::NulCharacter { field: "metadata", .. })
        ));
        let nul_trace = event(&s).with_trace_id("x\0");
        assert!(matches!(
            check(&[nul_trace]),
            Err(InputError::NulCharacter { field: "trace_id", .. })
        ));
        assert!(matches!(
            check(&[event(&StreamId::new("t", "x".repeat(513)))]),
            Err(InputError::FieldTooLong { field: "aggregate_id", len: 513, max: 512, .. })
        ));
        assert!(matches!(
            check(&[event(&s).with_event_id(Uuid::nil())]),
            Err(InputError::NilEventId { index: 0 })
        ));
        let id = Uuid::now_v7();
        assert!(matches!(
            check(&[event(&s).with_event_id(id), event(&s).with_event_id(id)]),
            Err(InputError::DuplicateIdInBatch { index: 1, .. })
        ));
        assert!(matches!(
            check(&[event(&s).with_event_version(MAX_EVENT_VERSION + 1)]),
            Err(InputError::EventVersionOutOfRange { .. })
        ));
    }

    fn nested(depth: usize) -> Value {
        let mut value = json!(1.5);
        for level in 0..depth {
            value = if level % 2 == 0 {
                Value::Array(vec![value])
            } else {
                Value::Object(std::iter::once(("k".to_owned(), value)).collect())
            };
        }
        value
    }

    #[test]
    fn metadata_depth_is_limited_without_recursion() {
        let s = StreamId::new("t", "1");
        let at_limit = event(&s).with_metadata(nested(MAX_METADATA_DEPTH));
        assert_eq!(check(&[at_limit]), Ok(()));
        for depth in [MAX_METADATA_DEPTH + 1, 1_000_000] {
            let mut batch = vec![event(&s), event(&s).with_metadata(nested(depth))];
            assert_eq!(
                prepare_append(&mut batch, ExpectedVersion::Any, &AppendLimits::default()),
                Err(InputError::MetadataTooDeep { index: 1, max: MAX_METADATA_DEPTH })
            );
            assert_eq!(batch[1].metadata, Value::Null, "refused metadata is taken apart");
        }
        // Deep metadata in a batch refused for another reason is taken apart too.
        let mut batch = vec![
            event(&s).with_metadata(nested(1_000_000)),
            event(&s).with_metadata(json!({ "deep": nested(10), "nul": "\u{0}" })),
        ];
        let refused = prepare_append(&mut batch, ExpectedVersion::Any, &AppendLimits::default());
        assert!(matches!(refused, Err(InputError::MetadataTooDeep { index: 0, .. })));
        for event in &batch {
            assert_eq!(event.metadata, Value::Null);
        }
        let wide = json!({ "a": [1, 2, { "b": [] }], "c": { "d": "x\u{0}" } });
        assert!(matches!(
            check(&[event(&s).with_metadata(wide)]),
            Err(InputError::NulCharacter { field: "metadata", .. })
        ));
    }

    #[test]
    fn enforces_payload_and_batch_limits() {
        let s = StreamId::new("t", "1");
        let limits = AppendLimits { max_payload_bytes: 4, max_batch_bytes: 6, max_name_bytes: 8 };
        let sized = |n: usize| Event::new(&s, "E", vec![0u8; n]);
        assert_eq!(validate(&[sized(4)], &limits), Ok(()));
        assert_eq!(
            validate(&[sized(5)], &limits),
            Err(InputError::PayloadTooLarge { index: 0, size: 5, max: 4 })
        );
        assert_eq!(
            validate(&[sized(4), sized(3)], &limits),
            Err(InputError::BatchTooLarge { size: 7, max: 6 })
        );
    }

    #[test]
    fn positions_must_fit_a_bigint() {
        assert_eq!(check_position("after", MAX_POSITION), Ok(()));
        assert!(check_position("after", MAX_POSITION + 1).is_err());
    }

    #[test]
    fn append_result_reports_versions_and_positions() {
        let s = StreamId::new("t", "1");
        let events = [(4, 10), (5, 12)]
            .into_iter()
            .map(|(v, p)| PersistedEvent {
                event: event(&s),
                global_position: p,
                aggregate_version: v,
            })
            .collect();
        let result = AppendResult::new(s, events);
        assert_eq!((result.from_version(), result.to_version()), (4, 5));
        assert_eq!(result.global_positions(), vec![10, 12]);
        assert_eq!(result.last_position(), 12);
    }
}

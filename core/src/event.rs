//! The unit of the log: what a caller appends ([`Event`]) and what the store hands back
//! ([`PersistedEvent`]).
//!
//! Payloads are opaque bytes so the store never dictates a serialization; JSON is the convention
//! and [`Event::json`] / [`PersistedEvent::decode_json`] make it one call. Timestamps are stored with
//! microsecond precision in UTC on every backend, so [`Event::new`] truncates `created_at` to the
//! microsecond up front and what you append is exactly what you read back. A leap second
//! (`23:59:60.x`, which chrono can represent and PostgreSQL cannot) is folded into the next
//! second (`00:00:00.x`) the same way on every backend, as PostgreSQL itself would.

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use uuid::Uuid;

use crate::StreamId;

/// An event to append: one fact about one stream, plus the envelope the store keeps with it.
///
/// Build one with [`Event::new`] or [`Event::json`] and adjust it with the `with_*` methods:
///
/// ```
/// use pupsourcing::{Event, StreamId};
///
/// let user = StreamId::new("user", "42");
/// let event = Event::json(&user, "UserRegistered", &serde_json::json!({ "email": "a@example.com" }))?
///     .with_event_version(2)
///     .with_correlation_id("request-7f3a");
/// assert_eq!(event.stream, user);
/// assert_eq!(event.event_version, 2);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The stream (bounded context, aggregate type, aggregate id) this event belongs to.
    pub stream: StreamId,
    /// Idempotency key: appending an event id that is already stored fails with
    /// [`StoreError::DuplicateEventId`](crate::StoreError::DuplicateEventId). Never nil.
    pub event_id: Uuid,
    /// The name of the fact, e.g. `"UserRegistered"`. Never empty.
    pub event_type: String,
    /// Schema version of the payload, for upcasting old events. Defaults to 1.
    pub event_version: u32,
    /// The serialized event body (JSON by convention, any bytes allowed).
    pub payload: Vec<u8>,
    /// Free-form JSON envelope data (tenant, user agent, ...). Defaults to an empty object.
    pub metadata: Value,
    /// When the event happened, UTC, microsecond precision.
    pub created_at: DateTime<Utc>,
    /// Distributed-tracing id (for example a W3C trace id) of the request that produced the event.
    pub trace_id: Option<String>,
    /// Id shared by every message of one business interaction.
    pub correlation_id: Option<String>,
    /// Id of the command or event that directly caused this one.
    pub causation_id: Option<String>,
}

impl Event {
    /// A new event with a fresh time-ordered (v7) event id, `event_version` 1, empty metadata and
    /// `created_at` set to now.
    pub fn new(
        stream: &StreamId,
        event_type: impl Into<String>,
        payload: impl Into<Vec<u8>>,
    ) -> Self {
        Self {
            stream: stream.clone(),
            event_id: Uuid::now_v7(),
            event_type: event_type.into(),
            event_version: 1,
            payload: payload.into(),
            metadata: Value::Object(serde_json::Map::new()),
            created_at: normalize_timestamp(Utc::now()),
            trace_id: None,
            correlation_id: None,
            causation_id: None,
        }
    }

    /// Like [`Event::new`], with `body` serialized to JSON as the payload.
    pub fn json<T: Serialize + ?Sized>(
        stream: &StreamId,
        event_type: impl Into<String>,
        body: &T,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self::new(stream, event_type, serde_json::to_vec(body)?))
    }

    /// Sets the idempotency key; use a deterministic id (for example derived from a command id)
    /// to make retries safe.
    #[must_use]
    pub fn with_event_id(mut self, event_id: Uuid) -> Self {
        self.event_id = event_id;
        self
    }

    /// Sets the payload schema version.
    #[must_use]
    pub fn with_event_version(mut self, event_version: u32) -> Self {
        self.event_version = event_version;
        self
    }

    /// Sets the metadata JSON.
    #[must_use]
    pub fn with_metadata(mut self, metadata: Value) -> Self {
        self.metadata = metadata;
        self
    }

    /// Sets `created_at`, truncated to the microsecond the backends store (a leap second is
    /// folded into the next second, see [`normalize_timestamp`]).
    #[must_use]
    pub fn with_created_at(mut self, created_at: DateTime<Utc>) -> Self {
        self.created_at = normalize_timestamp(created_at);
        self
    }

    /// Sets the trace id.
    #[must_use]
    pub fn with_trace_id(mut self, trace_id: impl Into<String>) -> Self {
        self.trace_id = Some(trace_id.into());
        self
    }

    /// Sets the correlation id.
    #[must_use]
    pub fn with_correlation_id(mut self, correlation_id: impl Into<String>) -> Self {
        self.correlation_id = Some(correlation_id.into());
        self
    }

    /// Sets the causation id.
    #[must_use]
    pub fn with_causation_id(mut self, causation_id: impl Into<String>) -> Self {
        self.causation_id = Some(causation_id.into());
        self
    }
}

/// `at` as every backend stores it: truncated to the microsecond, and a leap second
/// (`23:59:60.x`) folded into the first second of the next minute (`00:00:00.x`), the rule
/// PostgreSQL applies. The store applies it to every appended event, so what an append returns
/// is exactly what every later read returns.
///
/// ```
/// use chrono::{DateTime, NaiveDate};
///
/// let leap = NaiveDate::from_ymd_opt(2016, 12, 31).unwrap()
///     .and_hms_micro_opt(23, 59, 59, 1_500_000).unwrap().and_utc();
/// let folded = pupsourcing::normalize_timestamp(leap);
/// assert_eq!(folded.to_rfc3339(), "2017-01-01T00:00:00.500+00:00");
/// ```
pub fn normalize_timestamp(at: DateTime<Utc>) -> DateTime<Utc> {
    let at = at.trunc_subsecs(6);
    let nanos = at.timestamp_subsec_nanos();
    if nanos < 1_000_000_000 {
        return at;
    }
    at.timestamp()
        .checked_add(1)
        .and_then(|second| DateTime::from_timestamp(second, nanos - 1_000_000_000))
        .unwrap_or(at)
}

/// An event as stored: the appended [`Event`] plus the two positions the store assigned.
#[derive(Debug, Clone, PartialEq)]
pub struct PersistedEvent {
    /// The event exactly as appended (with `created_at` at microsecond precision).
    pub event: Event,
    /// Position in the global log: unique and increasing. Rolled-back appends leave holes, and
    /// concurrent transactions may commit out of position order; readers that follow the safe
    /// frontier never skip an event regardless.
    pub global_position: u64,
    /// Position within the stream: 1 for the first event, contiguous, no gaps.
    pub aggregate_version: u64,
}

impl PersistedEvent {
    /// Deserializes the JSON payload.
    pub fn decode_json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.event.payload)
    }

    /// The stream this event belongs to.
    pub fn stream(&self) -> &StreamId {
        &self.event.stream
    }

    /// The event type.
    pub fn event_type(&self) -> &str {
        &self.event.event_type
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_truncates_created_at_to_microseconds() {
        let event = Event::new(&StreamId::new("t", "1"), "E", Vec::new());
        assert_eq!(event.created_at.timestamp_subsec_nanos() % 1_000, 0);
        let precise = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        let event = event.with_created_at(precise);
        assert_eq!(event.created_at.timestamp_subsec_nanos(), 123_456_000);
    }

    #[test]
    fn leap_seconds_fold_into_the_next_second() {
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, 1_999_999_999)
            .unwrap()
            .and_utc();
        let folded = normalize_timestamp(leap);
        assert_eq!(folded.timestamp(), leap.timestamp() + 1);
        assert_eq!(folded.timestamp_subsec_nanos(), 999_999_000);
        let plain = DateTime::from_timestamp(1_700_000_000, 5_000).unwrap();
        assert_eq!(normalize_timestamp(plain), plain);
    }

    #[test]
    fn json_round_trips_through_decode() {
        let stream = StreamId::new("t", "1");
        let event = Event::json(&stream, "E", &vec![1, 2, 3]).unwrap();
        let persisted = PersistedEvent { event, global_position: 1, aggregate_version: 1 };
        assert_eq!(persisted.decode_json::<Vec<i32>>().unwrap(), vec![1, 2, 3]);
    }

    #[test]
    fn fresh_events_get_distinct_ids() {
        let stream = StreamId::new("t", "1");
        let a = Event::new(&stream, "E", Vec::new());
        let b = Event::new(&stream, "E", Vec::new());
        assert_ne!(a.event_id, b.event_id);
        assert!(!a.event_id.is_nil());
    }
}

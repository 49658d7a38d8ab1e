//! What `#[derive(DomainEvent)]` generates, exercised through `pupsourcing`'s re-export.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)] // test code: failing loudly is the point

use pupsourcing::typed::{DecodeErrorKind, EncodeError, EventTypeInfo};
use pupsourcing::{DomainEvent, Event, PersistedEvent, StreamId};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Opened {
    owner: String,
    currency: String,
}

/// Version 1 of `AccountOpened`: no currency yet.
#[derive(Debug, Deserialize)]
struct OpenedV1 {
    owner: String,
}

impl From<OpenedV1> for Opened {
    fn from(old: OpenedV1) -> Self {
        Self { owner: old.owner, currency: "EUR".into() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Deposited {
    cents: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Renamed {
    label: String,
}

/// Version 2 of `LabelSet`, upcast with a fallible conversion.
#[derive(Debug, Deserialize)]
struct LabelV2 {
    label: Option<String>,
}

impl TryFrom<LabelV2> for Renamed {
    type Error = String;

    fn try_from(old: LabelV2) -> Result<Self, String> {
        old.label.map(|label| Self { label }).ok_or_else(|| "a label is required".into())
    }
}

/// Version 1 of `LabelSet` stored the label as `name`: only the JSON can say so.
fn label_v1(mut value: Value) -> Result<Value, String> {
    let name = value.get_mut("name").map(Value::take).ok_or("no name")?;
    Ok(json!({ "label": name }))
}

#[derive(Debug, Clone, PartialEq, DomainEvent)]
#[event(aggregate_type = "account")]
enum AccountEvent {
    #[event(name = "AccountOpened", version = 2, upcast(from = 1, via = OpenedV1))]
    Opened(Opened),
    #[event(name = "MoneyDeposited", aliases = ["Deposited", "CashIn"])]
    Deposited(Deposited),
    #[event(
        name = "LabelSet",
        version = 3,
        upcast(from = 1, json = label_v1),
        upcast(from = 2, via = LabelV2)
    )]
    Labelled(Renamed),
    #[event(name = "AccountClosed")]
    Closed,
}

fn account() -> StreamId {
    StreamId::new("account", "a-1")
}

fn stored(event_type: &str, version: u32, payload: Value) -> PersistedEvent {
    let event = Event::new(&account(), event_type, payload.to_string().into_bytes())
        .with_event_version(version);
    PersistedEvent { event, global_position: 42, aggregate_version: 7 }
}

fn persisted(event: Event) -> PersistedEvent {
    PersistedEvent { event, global_position: 1, aggregate_version: 1 }
}

#[test]
fn every_variant_round_trips_through_a_stored_event() {
    let events = [
        AccountEvent::Opened(Opened { owner: "ann".into(), currency: "CHF".into() }),
        AccountEvent::Deposited(Deposited { cents: 1250 }),
        AccountEvent::Labelled(Renamed { label: "savings".into() }),
        AccountEvent::Closed,
    ];
    for event in events {
        let stored = event.to_event(&account()).unwrap();
        assert_eq!(stored.event_type, event.event_type());
        assert_eq!(stored.event_version, event.event_version());
        assert_eq!(AccountEvent::decode(&persisted(stored)).unwrap(), event);
    }
    assert_eq!(AccountEvent::Closed.to_event(&account()).unwrap().payload, b"{}");
}

#[test]
fn names_versions_and_the_type_table_are_the_declared_ones() {
    let opened = AccountEvent::Opened(Opened { owner: "a".into(), currency: "EUR".into() });
    assert_eq!((opened.event_type(), opened.event_version()), ("AccountOpened", 2));
    assert_eq!(AccountEvent::AGGREGATE_TYPE, Some("account"));
    assert_eq!(AccountEvent::TYPES.len(), 4);
    assert_eq!(
        AccountEvent::TYPES[1],
        EventTypeInfo {
            name: "MoneyDeposited",
            version: 1,
            aliases: &["Deposited", "CashIn"],
            upcasts_from: &[]
        }
    );
    assert_eq!(AccountEvent::TYPES[2].upcasts_from, &[1, 2]);
    let filter = AccountEvent::filter();
    assert_eq!(filter.aggregate_type_list(), ["account"]);
    assert_eq!(filter.event_type_list().len(), 6, "names and aliases: {filter:?}");
}

#[test]
fn aliases_and_old_versions_decode_into_the_current_shape() {
    let alias = AccountEvent::decode(&stored("CashIn", 1, json!({ "cents": 5 }))).unwrap();
    assert_eq!(alias, AccountEvent::Deposited(Deposited { cents: 5 }));
    let v1 = AccountEvent::decode(&stored("AccountOpened", 1, json!({ "owner": "bo" }))).unwrap();
    assert_eq!(v1, AccountEvent::Opened(Opened { owner: "bo".into(), currency: "EUR".into() }));
    let json_step = stored("LabelSet", 1, json!({ "name": "old" }));
    assert_eq!(
        AccountEvent::decode(&json_step).unwrap(),
        AccountEvent::Labelled(Renamed { label: "old".into() }),
        "version 1 is rewritten as JSON, then upcast through version 2"
    );
    let v2 = stored("LabelSet", 2, json!({ "label": "two" }));
    assert_eq!(
        AccountEvent::decode(&v2).unwrap(),
        AccountEvent::Labelled(Renamed { label: "two".into() })
    );
}

#[test]
fn every_failure_is_typed_and_names_the_event() {
    let cases = [
        (stored("Refunded", 1, json!({})), DecodeErrorKind::UnknownType),
        (stored("LabelSet", 4, json!({ "label": "x" })), DecodeErrorKind::VersionTooNew),
        (stored("AccountOpened", 0, json!({ "owner": "x" })), DecodeErrorKind::VersionTooOld),
        (stored("MoneyDeposited", 1, json!({ "cents": "many" })), DecodeErrorKind::Payload),
        (stored("LabelSet", 2, json!({ "label": null })), DecodeErrorKind::Upcast),
        (stored("LabelSet", 1, json!({ "title": "x" })), DecodeErrorKind::Upcast),
    ];
    for (event, kind) in cases {
        let err = AccountEvent::decode(&event).unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert_eq!((err.position(), err.stream()), (42, &account()));
        assert_eq!(err.event_type(), event.event.event_type);
        assert!(err.to_string().contains("position 42"), "{err}");
    }
    let foreign = Event::new(&StreamId::new("order", "1"), "AccountClosed", b"{}".to_vec());
    let err = AccountEvent::decode(&persisted(foreign)).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::WrongAggregateType);
    assert!(matches!(
        AccountEvent::Closed.to_event(&StreamId::new("order", "1")),
        Err(EncodeError::WrongAggregateType { expected: "account", .. })
    ));
}

#[test]
fn decode_known_skips_unknown_types_only() {
    assert_eq!(AccountEvent::decode_known(&stored("Refunded", 1, json!({}))).unwrap(), None);
    assert!(AccountEvent::decode_known(&stored("LabelSet", 9, json!({}))).is_err());
    assert_eq!(
        AccountEvent::decode_known(&stored("AccountClosed", 1, json!({}))).unwrap(),
        Some(AccountEvent::Closed)
    );
}

#[test]
fn compile_errors_point_at_the_mistake() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}

/// A codec of its own: JSON behind a one-byte tag, to see that the derive uses it.
struct Tagged;

impl pupsourcing::typed::PayloadCodec for Tagged {
    fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, pupsourcing::BoxError> {
        let mut bytes = vec![b'#'];
        bytes.extend(serde_json::to_vec(value)?);
        Ok(bytes)
    }

    fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, pupsourcing::BoxError> {
        let json = bytes.strip_prefix(b"#").ok_or("untagged payload")?;
        Ok(serde_json::from_slice(json)?)
    }
}

#[derive(Debug, PartialEq, DomainEvent)]
#[event(codec = Tagged)]
enum TaggedEvent {
    #[event(name = "Deposited")]
    Deposited(Deposited),
}

#[test]
fn a_codec_of_its_own_encodes_and_decodes() {
    let event = TaggedEvent::Deposited(Deposited { cents: 3 });
    let stored = event.to_event(&account()).unwrap();
    assert_eq!(stored.payload, br#"#{"cents":3}"#);
    assert_eq!(TaggedEvent::decode(&persisted(stored)).unwrap(), event);
    let untagged = stored_json_as_tagged();
    assert_eq!(TaggedEvent::decode(&untagged).unwrap_err().kind(), DecodeErrorKind::Payload);
}

fn stored_json_as_tagged() -> PersistedEvent {
    persisted(Event::new(&account(), "Deposited", br#"{"cents":3}"#.to_vec()))
}

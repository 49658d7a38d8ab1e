//! Checks for a `DomainEvent` enum: every variant round-trips, old versions upcast as intended.

#![allow(clippy::panic)] // assertions: a panic is how a test fails

use std::fmt::Debug;

use pupsourcing::{DomainEvent, Event, PersistedEvent, StreamId};

/// Asserts that every sample encodes and decodes back to itself, and that the samples cover
/// every event type the enum declares (so a new variant cannot be forgotten).
#[track_caller]
pub fn assert_round_trips<E>(stream: &StreamId, samples: &[E])
where
    E: DomainEvent + Debug + PartialEq,
{
    for sample in samples {
        let encoded = match sample.to_event(stream) {
            Ok(event) => event,
            Err(err) => panic!("{sample:?} does not encode: {err}"),
        };
        match E::decode(&stored(encoded)) {
            Ok(decoded) => assert_eq!(&decoded, sample, "the decoded event differs"),
            Err(err) => panic!("{sample:?} does not decode: {err}"),
        }
    }
    let covered: Vec<&str> = samples.iter().map(DomainEvent::event_type).collect();
    for info in E::TYPES {
        assert!(covered.contains(&info.name), "no sample of {:?}: add one", info.name);
    }
}

/// Asserts that a payload stored as `event_type` at `version` (JSON) decodes into `expected`:
/// the check for each old version an upcast chain handles.
#[track_caller]
pub fn assert_upcasts<E>(
    stream: &StreamId,
    event_type: &str,
    version: u32,
    payload: &str,
    expected: &E,
) where
    E: DomainEvent + Debug + PartialEq,
{
    let event =
        Event::new(stream, event_type, payload.as_bytes().to_vec()).with_event_version(version);
    match E::decode(&stored(event)) {
        Ok(decoded) => assert_eq!(&decoded, expected, "{event_type} v{version} upcast differently"),
        Err(err) => panic!("{event_type} v{version} does not decode: {err}"),
    }
}

fn stored(event: Event) -> PersistedEvent {
    PersistedEvent { event, global_position: 1, aggregate_version: 1 }
}

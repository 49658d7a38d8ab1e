//! The application test kit checks what it claims, and fails readably.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)] // test code: failing loudly is the point

use pupsourcing::aggregate::decider;
use pupsourcing::{DomainEvent, StreamId};
use pupsourcing_testkit::events::{assert_round_trips, assert_upcasts};
use pupsourcing_testkit::given::given;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Opened {
    owner: String,
    currency: String,
}

#[derive(Debug, Deserialize)]
struct OpenedV1 {
    owner: String,
}

impl From<OpenedV1> for Opened {
    fn from(old: OpenedV1) -> Self {
        Self { owner: old.owner, currency: "EUR".into() }
    }
}

#[derive(Debug, Clone, PartialEq, DomainEvent)]
enum AccountEvent {
    #[event(name = "AccountOpened", version = 2, upcast(from = 1, via = OpenedV1))]
    Opened(Opened),
    #[event(name = "AccountClosed")]
    Closed,
}

fn stream() -> StreamId {
    StreamId::new("account", "a-1")
}

fn opened() -> AccountEvent {
    AccountEvent::Opened(Opened { owner: "ann".into(), currency: "CHF".into() })
}

#[test]
fn every_variant_and_old_version_is_checked() {
    assert_round_trips(&stream(), &[opened(), AccountEvent::Closed]);
    assert_upcasts(
        &stream(),
        "AccountOpened",
        1,
        r#"{"owner":"bo"}"#,
        &AccountEvent::Opened(Opened { owner: "bo".into(), currency: "EUR".into() }),
    );
}

#[test]
#[should_panic(expected = "no sample of \"AccountClosed\"")]
fn a_forgotten_variant_fails_the_round_trip_check() {
    assert_round_trips(&stream(), &[opened()]);
}

#[derive(Debug, PartialEq, thiserror::Error)]
#[error("already closed")]
struct AlreadyClosed;

fn account() -> impl pupsourcing::aggregate::Decider<
    State = bool,
    Event = AccountEvent,
    Command = (),
    Error = AlreadyClosed,
> {
    decider(
        || false,
        |closed, event: &AccountEvent| closed || *event == AccountEvent::Closed,
        |closed: &bool, (): &()| {
            if *closed { Err(AlreadyClosed) } else { Ok(vec![AccountEvent::Closed]) }
        },
    )
}

#[test]
fn given_when_then_checks_events_and_errors() {
    given(account(), [opened()]).when(&()).then([AccountEvent::Closed]);
    given(account(), [opened(), AccountEvent::Closed]).when(&()).then_error(AlreadyClosed);
}

#[test]
#[should_panic(expected = "but it was refused: already closed")]
fn a_failing_expectation_shows_the_history_and_the_decision() {
    given(account(), [AccountEvent::Closed]).when(&()).then([AccountEvent::Closed]);
}

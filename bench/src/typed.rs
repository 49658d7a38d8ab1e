//! `typed`: what the typed layer adds to building and decoding events, against doing it by hand
//! with `Event::json` and `decode_json` on the same payloads.

use std::hint::black_box;
use std::time::{Duration, Instant};

use pupsourcing::{DomainEvent, Event, PersistedEvent, StreamId};
use serde::{Deserialize, Serialize};

use crate::stats::Samples;
use crate::{BenchError, Report};

const ROUNDS: usize = 9;
const ITERATIONS: u32 = 20_000;

/// A payload of a realistic size (about 200 bytes of JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Deposited {
    account: String,
    cents: u64,
    currency: String,
    reference: String,
    note: String,
}

#[derive(Debug, Clone, PartialEq, DomainEvent)]
#[event(aggregate_type = "account")]
enum AccountEvent {
    #[event(name = "AccountOpened")]
    Opened,
    #[event(name = "MoneyDeposited", version = 2, aliases = ["Deposited"])]
    Deposited(Deposited),
    #[event(name = "AccountClosed")]
    Closed,
}

fn payload() -> Deposited {
    Deposited {
        account: "a-000017".into(),
        cents: 125_000,
        currency: "EUR".into(),
        reference: "INV-2026-000123".into(),
        note: "quarterly payment for services rendered, see the attached statement".into(),
    }
}

/// Alternates `ours` and `raw`, `ROUNDS` times each, and records the mean time of one call.
fn interleaved(
    mut ours: impl FnMut() -> Result<(), BenchError>,
    mut raw: impl FnMut() -> Result<(), BenchError>,
) -> Result<(Samples, Samples), BenchError> {
    let (mut ours_samples, mut raw_samples) = (Samples::default(), Samples::default());
    for round in 0..ROUNDS {
        let measure = |f: &mut dyn FnMut() -> Result<(), BenchError>| {
            let started = Instant::now();
            for _ in 0..ITERATIONS {
                f()?;
            }
            Ok::<Duration, BenchError>(started.elapsed() / ITERATIONS)
        };
        if round % 2 == 0 {
            ours_samples.push(measure(&mut ours)?);
            raw_samples.push(measure(&mut raw)?);
        } else {
            raw_samples.push(measure(&mut raw)?);
            ours_samples.push(measure(&mut ours)?);
        }
    }
    Ok((ours_samples, raw_samples))
}

pub(crate) fn run(report: &mut Report) -> Result<(), BenchError> {
    println!(
        "typed: one ~200-byte JSON payload, {ROUNDS} interleaved rounds of {ITERATIONS} calls"
    );
    let stream = StreamId::new("account", "a-000017");
    let typed = AccountEvent::Deposited(payload());
    let raw_payload = payload();
    let (ours, raw) = interleaved(
        || {
            black_box(typed.to_event(black_box(&stream)).map_err(|_| BenchError::Stuck("encode"))?);
            Ok(())
        },
        || {
            let event = Event::json(black_box(&stream), "MoneyDeposited", black_box(&raw_payload))
                .map_err(|_| BenchError::Stuck("json"))?
                .with_event_version(2);
            black_box(event);
            Ok(())
        },
    )?;
    report.case("typed encode (to_event)", &ours, &raw, "Event::json");

    let stored = PersistedEvent {
        event: typed.to_event(&stream).map_err(|_| BenchError::Stuck("encode"))?,
        global_position: 1,
        aggregate_version: 1,
    };
    let (ours, raw) = interleaved(
        || {
            black_box(
                AccountEvent::decode(black_box(&stored))
                    .map_err(|_| BenchError::Stuck("decode"))?,
            );
            Ok(())
        },
        || {
            black_box(
                black_box(&stored)
                    .decode_json::<Deposited>()
                    .map_err(|_| BenchError::Stuck("decode_json"))?,
            );
            Ok(())
        },
    )?;
    report.case("typed decode (DomainEvent::decode)", &ours, &raw, "decode_json");
    Ok(())
}

//! Every crossing between Rust values and SQLite's storage classes, in one place and with one
//! behaviour.
//!
//! Positions, versions and epochs are `u64` in Rust and 64-bit signed integers in SQLite. A
//! caller's value that does not fit is refused with [`InputError::OutOfRange`], except where a
//! larger value means the same as the largest one: a row limit or an inclusive upper bound
//! beyond every storable position. A stored value that does not fit its Rust type is a decoding
//! error. Event ids are stored as lowercase hyphenated text; timestamps as RFC 3339 text in UTC
//! with exactly six fractional digits, so they sort chronologically and read back exactly.

use chrono::{DateTime, SecondsFormat, Utc};
use pupsourcing::InputError;
use rusqlite::types::FromSqlError;

/// A caller-supplied position, version or epoch, refused if it does not fit an `INTEGER`.
pub(crate) fn to_integer(what: &'static str, value: u64) -> Result<i64, InputError> {
    i64::try_from(value).map_err(|_| InputError::OutOfRange { what, value })
}

/// An inclusive upper bound: any bound at or beyond the largest storable position selects
/// everything up to it.
pub(crate) fn upper_bound(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A row limit: no table holds more than `i64::MAX` rows, so a larger limit is no limit.
pub(crate) fn row_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// A duration in whole microseconds, the coordinator's clock unit; durations beyond
/// `i64::MAX` microseconds (about 292 000 years) mean "for ever".
pub(crate) fn micros(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

/// A stored position or version; a negative one is a decoding error.
pub(crate) fn from_integer(value: i64) -> rusqlite::Result<u64> {
    u64::try_from(value).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(0, value))
}

/// A stored partition count, partition or attempt count; out of `u32` range is a decoding error.
pub(crate) fn from_small(value: i64) -> rusqlite::Result<u32> {
    u32::try_from(value).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(0, value))
}

pub(crate) fn timestamp_text(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn parse_timestamp(column: usize, text: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).map(|at| at.with_timezone(&Utc)).map_err(|err| {
        rusqlite::Error::FromSqlConversionFailure(
            column,
            rusqlite::types::Type::Text,
            Box::new(err),
        )
    })
}

pub(crate) fn parse_uuid(column: usize, text: &str) -> rusqlite::Result<uuid::Uuid> {
    uuid::Uuid::parse_str(text).map_err(|err| {
        rusqlite::Error::FromSqlConversionFailure(
            column,
            rusqlite::types::Type::Text,
            Box::new(err),
        )
    })
}

pub(crate) fn parse_json(column: usize, text: &str) -> rusqlite::Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|err| {
        rusqlite::Error::FromSqlConversionFailure(
            column,
            rusqlite::types::Type::Text,
            Box::new(FromSqlError::Other(Box::new(err))),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_values_are_refused_or_clamped_never_wrapped() {
        assert_eq!(to_integer("after", 7), Ok(7));
        assert!(to_integer("after", u64::MAX).is_err());
        assert_eq!(upper_bound(u64::MAX), i64::MAX);
        assert_eq!(row_limit(usize::MAX), i64::MAX);
        assert_eq!(micros(std::time::Duration::MAX), i64::MAX);
        assert!(from_integer(-1).is_err());
        assert!(from_small(i64::from(u32::MAX) + 1).is_err());
    }

    #[test]
    fn timestamps_round_trip_and_sort_as_text() {
        let early = DateTime::from_timestamp(-62_135_596_800, 1_000).unwrap();
        let late = DateTime::from_timestamp(253_402_300_799, 999_999_000).unwrap();
        let (a, b) = (timestamp_text(&early), timestamp_text(&late));
        assert_eq!(a, "0001-01-01T00:00:00.000001Z");
        assert!(a < b);
        assert_eq!(parse_timestamp(0, &a).unwrap(), early);
        assert_eq!(parse_timestamp(0, &b).unwrap(), late);
    }
}

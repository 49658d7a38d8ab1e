//! Crossings between Rust values and SQLite's storage classes.
//!
//! Positions and versions are `u64` in Rust and 64-bit signed integers in SQLite. Event ids are
//! stored as lowercase hyphenated text; timestamps as RFC 3339 text in UTC with exactly six
//! fractional digits, so they sort chronologically and read back exactly.

use chrono::{DateTime, SecondsFormat, Utc};
use pupsourcing::{InputError, StoreError};
use rusqlite::types::FromSqlError;

/// A caller-supplied position or version, refused as input if it does not fit an `INTEGER`.
pub(crate) fn to_integer(what: &'static str, value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| InputError::OutOfRange { what, value }.into())
}

/// A stored position or version; a negative one is a decoding error.
pub(crate) fn from_integer(value: i64) -> rusqlite::Result<u64> {
    u64::try_from(value).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(0, value))
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

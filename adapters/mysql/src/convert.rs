//! Every crossing between Rust values and MySQL's column types, in one place.
//!
//! Positions, versions and epochs are `u64` in Rust and `BIGINT` in SQL; names are `VARBINARY`
//! holding UTF-8; event ids are `BINARY(16)`; times are `DATETIME(6)` in UTC.

use chrono::{DateTime, NaiveDateTime, Utc};
use pupsourcing::InputError;
use uuid::Uuid;

use crate::error::{Failure, failure};

/// A caller-supplied position, version or epoch, refused if it does not fit a `BIGINT`.
pub(crate) fn to_bigint(what: &'static str, value: u64) -> Result<i64, InputError> {
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

fn decode_error(
    operation: &'static str,
    err: impl std::error::Error + Send + Sync + 'static,
) -> Failure {
    failure(operation, sqlx::Error::Decode(Box::new(err)))
}

/// A stored position, version or epoch; a negative one is a decoding error.
pub(crate) fn from_bigint(operation: &'static str, value: i64) -> Result<u64, Failure> {
    u64::try_from(value).map_err(|err| decode_error(operation, err))
}

/// A caller-supplied partition count, partition, attempt count or key version, refused if it
/// does not fit an `INT`.
pub(crate) fn to_int(what: &'static str, value: u32) -> Result<i32, InputError> {
    i32::try_from(value).map_err(|_| InputError::OutOfRange { what, value: u64::from(value) })
}

/// A stored partition count, partition, attempt count or key version; a negative one is a
/// decoding error.
pub(crate) fn from_int(operation: &'static str, value: i32) -> Result<u32, Failure> {
    u32::try_from(value).map_err(|err| decode_error(operation, err))
}

/// A stored name (`VARBINARY`), which must be UTF-8.
pub(crate) fn name(operation: &'static str, bytes: Vec<u8>) -> Result<String, Failure> {
    String::from_utf8(bytes).map_err(|err| decode_error(operation, err))
}

/// A stored event id (`BINARY(16)`).
pub(crate) fn uuid(operation: &'static str, bytes: &[u8]) -> Result<Uuid, Failure> {
    Uuid::from_slice(bytes).map_err(|err| decode_error(operation, err))
}

/// A time as `DATETIME(6)` stores it: UTC without a zone, to the microsecond.
pub(crate) fn to_datetime(at: DateTime<Utc>) -> NaiveDateTime {
    at.naive_utc()
}

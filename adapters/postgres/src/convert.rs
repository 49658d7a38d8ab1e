//! Every crossing between Rust integers and PostgreSQL's, in one place and with one behaviour.
//!
//! Positions, versions and epochs are `u64` in Rust and `BIGINT` in SQL; partition counts and
//! attempts are `u32` and `INTEGER`. A caller's value that does not fit is refused with
//! [`InputError::OutOfRange`], except where a larger value means the same as the largest one: a
//! row limit or an inclusive upper bound beyond every storable position. A stored value that
//! does not fit its Rust type is a decoding error: the row was written by something else.

use pupsourcing::InputError;

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

/// A caller-supplied partition count, partition or attempt count, refused if it does not fit an
/// `INTEGER`.
pub(crate) fn to_int(what: &'static str, value: u32) -> Result<i32, InputError> {
    i32::try_from(value).map_err(|_| InputError::OutOfRange { what, value: u64::from(value) })
}

/// A stored position, version or epoch; a negative one is a decoding error.
pub(crate) fn from_bigint(operation: &'static str, value: i64) -> Result<u64, Failure> {
    u64::try_from(value).map_err(|err| failure(operation, sqlx::Error::Decode(Box::new(err))))
}

/// A stored partition count, partition, attempt count or key version; a negative one is a
/// decoding error.
pub(crate) fn from_int(operation: &'static str, value: i32) -> Result<u32, Failure> {
    u32::try_from(value).map_err(|err| failure(operation, sqlx::Error::Decode(Box::new(err))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_values_are_refused_or_clamped_never_wrapped() {
        assert_eq!(to_bigint("after", 7), Ok(7));
        assert_eq!(
            to_bigint("after", u64::MAX),
            Err(InputError::OutOfRange { what: "after", value: u64::MAX })
        );
        assert_eq!(upper_bound(u64::MAX), i64::MAX);
        assert_eq!(row_limit(usize::MAX), i64::MAX);
        assert!(to_int("partitions", u32::MAX).is_err());
        assert!(from_bigint("decode", -1).is_err());
        assert_eq!(from_int("decode", 3).ok(), Some(3));
    }
}

//! Positions and versions are `u64` in Rust and `BIGINT` in SQL; these are the only crossings.

use pupsourcing::{InputError, StoreError};

use crate::error::failure;

/// A caller-supplied position or version, refused as input if it does not fit a `BIGINT`.
pub(crate) fn to_bigint(what: &'static str, value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| InputError::OutOfRange { what, value }.into())
}

/// A stored position or version; a negative one means the schema was tampered with.
pub(crate) fn from_bigint(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|err| failure("decode", sqlx::Error::Decode(Box::new(err))).into())
}

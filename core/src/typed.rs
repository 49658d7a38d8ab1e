//! Typed domain events: an application's enum of events, mapped to and from stored events by
//! `#[derive(DomainEvent)]` (feature `derive`).
//!
//! The payload types stay plain structs of the domain layer; the enum that lists them (and
//! gives each its stable name and version) can live in the infrastructure layer. Names are
//! never derived from Rust identifiers, so renaming a struct or a variant never changes what is
//! stored; a renamed *event* keeps reading through its aliases, and an old version is upcast
//! through the application's own `From`/`TryFrom` conversions, oldest to newest.

mod codec;
mod consumer;
mod decode_error;
mod domain_event;
mod store_ext;

pub use codec::{JsonCodec, PayloadCodec};
pub use consumer::{TypedConsumer, TypedHandler};
pub use decode_error::{DecodeError, DecodeErrorKind, DecodeFailure, EncodeError};
pub use domain_event::{DomainEvent, EventTypeInfo, upcast};
pub(crate) use store_ext::decode_stream;
pub use store_ext::{Typed, TypedError, TypedStoreExt};

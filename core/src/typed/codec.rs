//! How payloads become bytes: JSON unless an enum says otherwise.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::BoxError;

/// Turns payload values into the bytes an [`Event`](crate::Event) stores and back. JSON
/// ([`JsonCodec`]) is the default of `#[derive(DomainEvent)]`; `#[event(codec = MyCodec)]`
/// plugs in another serde format (MessagePack, CBOR, ...).
pub trait PayloadCodec {
    /// Serializes a payload.
    fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, BoxError>;

    /// Deserializes a payload.
    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BoxError>;
}

/// JSON payloads, through serde_json.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonCodec;

impl PayloadCodec for JsonCodec {
    fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, BoxError> {
        Ok(serde_json::to_vec(value)?)
    }

    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BoxError> {
        Ok(serde_json::from_slice(bytes)?)
    }
}

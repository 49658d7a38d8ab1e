//! Sealed fields for domain events: `Pii<T>` serializes as an envelope's text form.
//!
//! ```
//! use pupsourcing::encryption::Pii;
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct UserRegistered {
//!     user_id: String,
//!     email: Pii<String>,
//! }
//! ```

use std::fmt;
use std::marker::PhantomData;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::encryption::envelope::Envelope;

/// A value of type `T`, encrypted for a subject. It serializes as the envelope's text form;
/// [`Encryptor::reveal`](crate::encryption::Encryptor::reveal) turns it back into `T`.
pub struct Pii<T> {
    envelope: Envelope,
    value: PhantomData<fn() -> T>,
}

impl<T> Pii<T> {
    pub(crate) fn new(envelope: Envelope) -> Self {
        Self { envelope, value: PhantomData }
    }

    /// The envelope.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }
}

impl<T> Clone for Pii<T> {
    fn clone(&self) -> Self {
        Self::new(self.envelope.clone())
    }
}

impl<T> PartialEq for Pii<T> {
    fn eq(&self, other: &Self) -> bool {
        self.envelope == other.envelope
    }
}

impl<T> Eq for Pii<T> {}

impl<T> fmt::Debug for Pii<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pii({:?})", self.envelope)
    }
}

impl<T> Serialize for Pii<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.envelope.to_text())
    }
}

impl<'de, T> Deserialize<'de> for Pii<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Envelope::from_text(&text).map(Self::new).map_err(D::Error::custom)
    }
}

/// A sealed value as a projection sees it: the plaintext, or the fact that it was erased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revealed<T> {
    /// The decrypted value.
    Plain(T),
    /// The subject's keys were destroyed: render as redacted.
    Shredded,
}

impl<T> Revealed<T> {
    /// The value, if not shredded.
    pub fn plain(self) -> Option<T> {
        match self {
            Self::Plain(value) => Some(value),
            Self::Shredded => None,
        }
    }

    /// Whether the value was erased.
    pub fn is_shredded(&self) -> bool {
        matches!(self, Self::Shredded)
    }

    /// The value, or `redacted` if it was erased.
    pub fn unwrap_or(self, redacted: T) -> T {
        self.plain().unwrap_or(redacted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_the_envelope_text_and_refuses_garbage() {
        let pii: Pii<String> = Pii::new(Envelope::new(1, [3; 24], vec![0; 20]));
        let json = serde_json::to_string(&pii).unwrap();
        assert!(json.starts_with("\"pupenc:"), "{json}");
        let back: Pii<String> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, pii);
        assert!(serde_json::from_str::<Pii<String>>("\"hello\"").is_err());
        assert_eq!(Revealed::Plain(3).plain(), Some(3));
        assert_eq!(Revealed::Shredded.unwrap_or("[erased]"), "[erased]");
    }
}

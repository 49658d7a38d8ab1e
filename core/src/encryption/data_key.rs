//! Data keys and the binding sealed inside their wrapping.
//!
//! A wrapped data key is only valid for the row it was written to: the wrapping's plaintext
//! starts with the key's scope, subject, version and KEK id, and unwrapping compares them with
//! the row it was read from. A row copied onto another subject therefore fails with
//! [`EncryptionError::KeyBindingMismatch`] instead of decrypting someone else's data.

use std::fmt;

use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{KeyInit, OsRng};
use zeroize::Zeroizing;

use crate::EncryptionError;
use crate::spi::KeyId;

/// The algorithm name stored with every data key.
pub const DATA_KEY_ALGORITHM: &str = "xchacha20poly1305";

const PAYLOAD_MAGIC: &[u8] = b"pupdek1";

/// A 256-bit data-encryption key, wiped from memory when dropped.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    /// A fresh random key from the operating system's generator.
    pub fn generate() -> Self {
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        let mut bytes = Zeroizing::new([0u8; 32]);
        bytes.copy_from_slice(&key);
        Self(bytes)
    }

    /// A key from raw bytes (for a raw-AEAD key-encryption key loaded from a secret store).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    pub(crate) fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// What a wrapped data key is bound to: the key's identity and the KEK that wrapped it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyBinding<'a> {
    /// The key.
    pub id: &'a KeyId,
    /// The key-encryption key.
    pub kek_id: &'a str,
}

impl KeyBinding<'_> {
    fn encode(&self, out: &mut Vec<u8>) {
        for part in [self.id.scope.as_bytes(), self.id.subject.as_bytes(), self.kek_id.as_bytes()] {
            out.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
            out.extend_from_slice(part);
        }
        out.extend_from_slice(&self.id.version.to_be_bytes());
    }
}

impl fmt::Display for KeyBinding<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} under KEK {}", self.id, self.kek_id)
    }
}

/// The plaintext a key wrapper encrypts: magic, binding, key.
pub(crate) fn seal_payload(binding: &KeyBinding<'_>, key: &DataKey) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(96));
    out.extend_from_slice(PAYLOAD_MAGIC);
    binding.encode(&mut out);
    out.extend_from_slice(key.expose());
    out
}

/// Checks an unwrapped payload against the binding it is expected to carry.
pub(crate) fn open_payload(
    payload: &[u8],
    expected: &KeyBinding<'_>,
) -> Result<DataKey, EncryptionError> {
    let mut binding = Vec::new();
    expected.encode(&mut binding);
    let body = payload
        .strip_prefix(PAYLOAD_MAGIC)
        .ok_or(EncryptionError::Integrity(crate::IntegrityFailure::WrappedKey))?;
    if body.len() < 32 {
        return Err(EncryptionError::Integrity(crate::IntegrityFailure::WrappedKey));
    }
    let (found, key) = body.split_at(body.len() - 32);
    if found != binding.as_slice() {
        return Err(EncryptionError::KeyBindingMismatch {
            expected: expected.to_string(),
            found: describe(found).unwrap_or_else(|| "an unreadable binding".into()),
        });
    }
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(key);
    let data_key = DataKey::from_bytes(bytes);
    zeroize::Zeroize::zeroize(&mut bytes);
    Ok(data_key)
}

/// Renders an encoded binding for an error message.
fn describe(mut encoded: &[u8]) -> Option<String> {
    let mut parts = Vec::new();
    for _ in 0..3 {
        let (len, rest) = encoded.split_first_chunk::<4>()?;
        let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
        let part = rest.get(..len)?;
        parts.push(String::from_utf8_lossy(part).into_owned());
        encoded = rest.get(len..)?;
    }
    let version = u32::from_be_bytes(*encoded.first_chunk::<4>()?);
    Some(format!("{}/{}/v{version} under KEK {}", parts[0], parts[1], parts[2]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_open_only_under_their_binding() {
        let key = DataKey::generate();
        let id = KeyId::new("users", "42", 1);
        let binding = KeyBinding { id: &id, kek_id: "kek-1" };
        let payload = seal_payload(&binding, &key);
        assert_eq!(open_payload(&payload, &binding).unwrap().expose(), key.expose());

        let other = KeyId::new("users", "43", 1);
        match open_payload(&payload, &KeyBinding { id: &other, kek_id: "kek-1" }) {
            Err(EncryptionError::KeyBindingMismatch { expected, found }) => {
                assert!(
                    expected.contains("users/43/v1") && found.contains("users/42/v1"),
                    "{expected} / {found}"
                );
            }
            other => panic!("expected a binding mismatch, got {other:?}"),
        }
        assert!(matches!(
            open_payload(&payload, &KeyBinding { id: &id, kek_id: "kek-2" }),
            Err(EncryptionError::KeyBindingMismatch { .. })
        ));
        assert!(matches!(
            open_payload(b"garbage", &binding),
            Err(EncryptionError::Integrity(crate::IntegrityFailure::WrappedKey))
        ));
    }

    #[test]
    fn keys_are_random_and_never_printed() {
        let (a, b) = (DataKey::generate(), DataKey::generate());
        assert_ne!(a.expose(), b.expose());
        assert_eq!(format!("{a:?}"), "DataKey(..)");
    }
}

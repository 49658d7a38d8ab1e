//! The raw-AEAD key wrapper: data keys sealed with XChaCha20-Poly1305 under a 256-bit KEK held
//! in a secret manager or HSM-exported key file, for deployments that do not use `age`.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::encryption::data_key::{DataKey, KeyBinding, open_payload, seal_payload};
use crate::encryption::wrapper::KeyWrapper;
use crate::{EncryptionError, IntegrityFailure};

const AAD: &[u8] = b"pupsourcing/wrapped-data-key/v1";

/// A [`KeyWrapper`] with a symmetric key-encryption key.
pub struct AeadWrapper {
    kek_id: String,
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for AeadWrapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AeadWrapper").field("kek_id", &self.kek_id).finish_non_exhaustive()
    }
}

impl AeadWrapper {
    /// A wrapper with KEK `key`, identified as `kek_id`.
    pub fn new(kek_id: &str, key: &DataKey) -> Result<Self, EncryptionError> {
        if kek_id.is_empty() {
            return Err(EncryptionError::InvalidInput("a KEK id must not be empty"));
        }
        Ok(Self { kek_id: kek_id.to_owned(), cipher: XChaCha20Poly1305::new(key.expose().into()) })
    }
}

impl KeyWrapper for AeadWrapper {
    fn kek_id(&self) -> &str {
        &self.kek_id
    }

    fn wrap(&self, key: &DataKey, binding: &KeyBinding<'_>) -> Result<Vec<u8>, EncryptionError> {
        let payload = seal_payload(binding, key);
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(&nonce, Payload { msg: &payload, aad: AAD })
            .map_err(|_| EncryptionError::Integrity(IntegrityFailure::WrappedKey))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// A KEK that does not authenticate the blob is reported as an integrity failure: with a
    /// symmetric key, a wrong key and a corrupted blob look the same. The keyring picks the
    /// wrapper by the KEK id stored with the key, so a missing KEK is still
    /// [`EncryptionError::KekUnavailable`].
    fn unwrap(&self, wrapped: &[u8], binding: &KeyBinding<'_>) -> Result<DataKey, EncryptionError> {
        let corrupt = EncryptionError::Integrity(IntegrityFailure::WrappedKey);
        let Some((nonce, sealed)) = wrapped.split_first_chunk::<24>() else {
            return Err(corrupt);
        };
        let payload = self
            .cipher
            .decrypt(&XNonce::from(*nonce), Payload { msg: sealed, aad: AAD })
            .map(Zeroizing::new)
            .map_err(|_| corrupt)?;
        open_payload(&payload, binding)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spi::KeyId;

    #[test]
    fn round_trips_and_detects_tampering_and_swaps() {
        let wrapper = AeadWrapper::new("kek-a", &DataKey::generate()).unwrap();
        let key = DataKey::generate();
        let id = KeyId::new("s", "1", 2);
        let binding = KeyBinding { id: &id, kek_id: "kek-a" };
        let wrapped = wrapper.wrap(&key, &binding).unwrap();
        assert_eq!(wrapper.unwrap(&wrapped, &binding).unwrap().expose(), key.expose());
        let mut tampered = wrapped.clone();
        tampered[30] ^= 0x10;
        assert!(matches!(wrapper.unwrap(&tampered, &binding), Err(EncryptionError::Integrity(_))));
        let other = KeyId::new("s", "1", 3);
        assert!(matches!(
            wrapper.unwrap(&wrapped, &KeyBinding { id: &other, kek_id: "kek-a" }),
            Err(EncryptionError::KeyBindingMismatch { .. })
        ));
    }
}

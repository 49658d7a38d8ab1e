//! The `age` key wrapper: data keys encrypted to one or more X25519 recipients.
//!
//! Several recipients let a service key and an offline escrow key each recover every data key.
//! Identities (the private keys) load from text (`AGE-SECRET-KEY-1...` lines, as `age-keygen`
//! writes them) or from a passphrase-protected age file holding that text.

use std::io::{Read, Write};
use std::iter;
use std::str::FromStr;

use age::secrecy::{ExposeSecret, SecretString};
use age::x25519;
use zeroize::Zeroizing;

use crate::encryption::data_key::{DataKey, KeyBinding, open_payload, seal_payload};
use crate::encryption::wrapper::KeyWrapper;
use crate::{EncryptionError, IntegrityFailure};

/// A [`KeyWrapper`] on `age` X25519 recipients.
pub struct AgeWrapper {
    kek_id: String,
    recipients: Vec<x25519::Recipient>,
    identities: Vec<x25519::Identity>,
}

impl std::fmt::Debug for AgeWrapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgeWrapper")
            .field("kek_id", &self.kek_id)
            .field(
                "recipients",
                &self.recipients.iter().map(ToString::to_string).collect::<Vec<_>>(),
            )
            .field("identities", &self.identities.len())
            .finish()
    }
}

fn configuration(reason: impl Into<String>) -> EncryptionError {
    EncryptionError::Configuration { reason: reason.into(), source: None }
}

fn parse_recipients(recipients: &[&str]) -> Result<Vec<x25519::Recipient>, EncryptionError> {
    recipients
        .iter()
        .map(|r| {
            x25519::Recipient::from_str(r.trim())
                .map_err(|e| configuration(format!("invalid age recipient {r:?}: {e}")))
        })
        .collect()
}

impl AgeWrapper {
    /// A wrapper that can wrap and unwrap: the identities in `identity_text` (one
    /// `AGE-SECRET-KEY-1...` per line; `#` comments and blank lines ignored), wrapping to their
    /// public keys plus `extra_recipients` (e.g. an escrow key).
    pub fn from_identities(
        kek_id: &str,
        identity_text: &str,
        extra_recipients: &[&str],
    ) -> Result<Self, EncryptionError> {
        let identities = identity_text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(|line| {
                x25519::Identity::from_str(line)
                    .map_err(|e| configuration(format!("invalid age identity: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if identities.is_empty() {
            return Err(configuration("no age identity found in the identity text"));
        }
        let mut recipients: Vec<x25519::Recipient> =
            identities.iter().map(x25519::Identity::to_public).collect();
        recipients.extend(parse_recipients(extra_recipients)?);
        Self::checked(kek_id, recipients, identities)
    }

    /// Like [`from_identities`](Self::from_identities), with the identity text inside an age
    /// file encrypted with a passphrase (`age -p`). `max_work_factor` bounds the scrypt cost
    /// accepted (log2 N; `age` itself targets about one second).
    pub fn from_passphrase_file(
        kek_id: &str,
        encrypted: &[u8],
        passphrase: SecretString,
        max_work_factor: u8,
        extra_recipients: &[&str],
    ) -> Result<Self, EncryptionError> {
        let decryptor = age::Decryptor::new_buffered(encrypted).map_err(|e| {
            EncryptionError::Configuration {
                reason: "not an age file".into(),
                source: Some(Box::new(e)),
            }
        })?;
        let mut identity = age::scrypt::Identity::new(passphrase);
        identity.set_max_work_factor(max_work_factor);
        let mut reader =
            decryptor.decrypt(iter::once::<&dyn age::Identity>(&identity)).map_err(|e| {
                EncryptionError::Configuration {
                    reason: "cannot decrypt the identity file".into(),
                    source: Some(Box::new(e)),
                }
            })?;
        let mut text = Zeroizing::new(String::new());
        reader.read_to_string(&mut text).map_err(|e| EncryptionError::Configuration {
            reason: "unreadable identity file".into(),
            source: Some(Box::new(e)),
        })?;
        Self::from_identities(kek_id, &text, extra_recipients)
    }

    /// A wrapper that can only wrap: it holds the recipients' public keys, and unwrapping fails
    /// with [`EncryptionError::KekUnavailable`].
    pub fn recipients_only(kek_id: &str, recipients: &[&str]) -> Result<Self, EncryptionError> {
        Self::checked(kek_id, parse_recipients(recipients)?, Vec::new())
    }

    /// A new random identity, as `age-keygen` would print it (the secret line), for tests,
    /// examples and first-time setup.
    pub fn generate_identity() -> (SecretString, String) {
        let identity = x25519::Identity::generate();
        (identity.to_string(), identity.to_public().to_string())
    }

    /// Encrypts identity text with a passphrase, as `age -p` does, at scrypt work factor
    /// `work_factor` (log2 N).
    pub fn encrypt_identity_file(
        identity_text: &str,
        passphrase: SecretString,
        work_factor: u8,
    ) -> Result<Vec<u8>, EncryptionError> {
        let mut recipient = age::scrypt::Recipient::new(passphrase);
        if !(1..64).contains(&work_factor) {
            return Err(EncryptionError::InvalidInput(
                "the scrypt work factor must be between 1 and 63",
            ));
        }
        recipient.set_work_factor(work_factor);
        encrypt_to(iter::once::<&dyn age::Recipient>(&recipient), identity_text.as_bytes())
    }

    fn checked(
        kek_id: &str,
        recipients: Vec<x25519::Recipient>,
        identities: Vec<x25519::Identity>,
    ) -> Result<Self, EncryptionError> {
        if kek_id.is_empty() {
            return Err(EncryptionError::InvalidInput("a KEK id must not be empty"));
        }
        if recipients.is_empty() {
            return Err(configuration("at least one age recipient is needed"));
        }
        Ok(Self { kek_id: kek_id.to_owned(), recipients, identities })
    }

    /// The public recipients keys are wrapped to.
    pub fn recipients(&self) -> Vec<String> {
        self.recipients.iter().map(ToString::to_string).collect()
    }
}

fn encrypt_to<'a>(
    recipients: impl Iterator<Item = &'a dyn age::Recipient>,
    plaintext: &[u8],
) -> Result<Vec<u8>, EncryptionError> {
    let failed = |e: &dyn std::fmt::Display| configuration(format!("age encryption failed: {e}"));
    let encryptor = age::Encryptor::with_recipients(recipients).map_err(|e| failed(&e))?;
    let mut out = Vec::new();
    let mut writer = encryptor.wrap_output(&mut out).map_err(|e| failed(&e))?;
    writer.write_all(plaintext).map_err(|e| failed(&e))?;
    writer.finish().map_err(|e| failed(&e))?;
    Ok(out)
}

impl KeyWrapper for AgeWrapper {
    fn kek_id(&self) -> &str {
        &self.kek_id
    }

    fn wrap(&self, key: &DataKey, binding: &KeyBinding<'_>) -> Result<Vec<u8>, EncryptionError> {
        let payload = seal_payload(binding, key);
        encrypt_to(self.recipients.iter().map(|r| -> &dyn age::Recipient { r }), &payload)
    }

    fn unwrap(&self, wrapped: &[u8], binding: &KeyBinding<'_>) -> Result<DataKey, EncryptionError> {
        if self.identities.is_empty() {
            return Err(EncryptionError::KekUnavailable { kek_id: self.kek_id.clone() });
        }
        let corrupt = || EncryptionError::Integrity(IntegrityFailure::WrappedKey);
        let decryptor = age::Decryptor::new_buffered(wrapped).map_err(|_| corrupt())?;
        let identities = self.identities.iter().map(|i| -> &dyn age::Identity { i });
        let mut reader = decryptor.decrypt(identities).map_err(|err| match err {
            age::DecryptError::NoMatchingKeys => {
                EncryptionError::KekUnavailable { kek_id: self.kek_id.clone() }
            }
            _ => corrupt(),
        })?;
        let mut payload = Zeroizing::new(Vec::new());
        reader.read_to_end(&mut payload).map_err(|_| corrupt())?;
        open_payload(&payload, binding)
    }
}

impl AgeWrapper {
    /// The identity lines this wrapper holds, for writing an identity file (handle with care).
    pub fn identity_text(&self) -> SecretString {
        let text: String = self
            .identities
            .iter()
            .map(|i| format!("{}\n", i.to_string().expose_secret()))
            .collect();
        SecretString::from(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spi::KeyId;

    fn identity() -> (String, String) {
        let (secret, public) = AgeWrapper::generate_identity();
        (secret.expose_secret().to_owned(), public)
    }

    #[test]
    fn wraps_to_every_recipient_and_binds_the_key() {
        let (service, _) = identity();
        let (escrow, escrow_public) = identity();
        let wrapper = AgeWrapper::from_identities("kek-1", &service, &[&escrow_public]).unwrap();
        let key = DataKey::generate();
        let id = KeyId::new("users", "7", 1);
        let binding = KeyBinding { id: &id, kek_id: "kek-1" };
        let wrapped = wrapper.wrap(&key, &binding).unwrap();

        assert_eq!(wrapper.unwrap(&wrapped, &binding).unwrap().expose(), key.expose());
        let by_escrow = AgeWrapper::from_identities("kek-1", &escrow, &[]).unwrap();
        assert_eq!(by_escrow.unwrap(&wrapped, &binding).unwrap().expose(), key.expose());

        let other = KeyId::new("users", "8", 1);
        assert!(matches!(
            wrapper.unwrap(&wrapped, &KeyBinding { id: &other, kek_id: "kek-1" }),
            Err(EncryptionError::KeyBindingMismatch { .. })
        ));
    }

    #[test]
    fn without_a_matching_identity_the_kek_is_unavailable_not_shredded() {
        let (service, public) = identity();
        let (stranger, _) = identity();
        let wrapper = AgeWrapper::from_identities("kek-1", &service, &[]).unwrap();
        let id = KeyId::new("s", "x", 1);
        let binding = KeyBinding { id: &id, kek_id: "kek-1" };
        let wrapped = wrapper.wrap(&DataKey::generate(), &binding).unwrap();
        let public_only = AgeWrapper::recipients_only("kek-1", &[&public]).unwrap();
        let wrong = AgeWrapper::from_identities("kek-1", &stranger, &[]).unwrap();
        for unable in [public_only, wrong] {
            assert!(matches!(
                unable.unwrap(&wrapped, &binding),
                Err(EncryptionError::KekUnavailable { .. })
            ));
        }
        let mut corrupt = wrapped.clone();
        let last = corrupt.len() - 1;
        corrupt[last] ^= 1;
        assert!(matches!(wrapper.unwrap(&corrupt, &binding), Err(EncryptionError::Integrity(_))));
    }

    #[test]
    fn identities_load_from_a_passphrase_protected_file() {
        let (service, _) = identity();
        let file = AgeWrapper::encrypt_identity_file(
            &service,
            SecretString::from("correct horse".to_owned()),
            8,
        )
        .unwrap();
        let loaded = AgeWrapper::from_passphrase_file(
            "kek-1",
            &file,
            SecretString::from("correct horse".to_owned()),
            16,
            &[],
        )
        .unwrap();
        assert_eq!(loaded.identity_text().expose_secret().trim(), service);
        let wrong = AgeWrapper::from_passphrase_file(
            "kek-1",
            &file,
            SecretString::from("wrong".to_owned()),
            16,
            &[],
        );
        assert!(matches!(wrong, Err(EncryptionError::Configuration { .. })));
        assert!(matches!(
            AgeWrapper::from_identities("k", "# only a comment", &[]),
            Err(EncryptionError::Configuration { .. })
        ));
        assert!(matches!(
            AgeWrapper::recipients_only("k", &["age1notakey"]),
            Err(EncryptionError::Configuration { .. })
        ));
    }
}

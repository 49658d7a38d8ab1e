//! Data keys as stored: wrapped, versioned, and bound to their subject.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::EncryptionError;

/// Identity of one data key: a version of a subject's key in a scope (a scope separates key
/// families, e.g. `"users"` and `"payments"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId {
    /// The key scope.
    pub scope: String,
    /// The subject (a person, a tenant, ...).
    pub subject: String,
    /// The key version, from 1.
    pub version: u32,
}

impl KeyId {
    /// Version `version` of `subject`'s key in `scope`.
    pub fn new(scope: impl Into<String>, subject: impl Into<String>, version: u32) -> Self {
        Self { scope: scope.into(), subject: subject.into(), version }
    }

    /// Checks scope and subject: non-empty, at most 512 bytes, no NUL character.
    pub fn check_names(scope: &str, subject: &str) -> Result<(), EncryptionError> {
        for (what, value) in [("scope", scope), ("subject", subject)] {
            if value.is_empty() || value.len() > 512 || value.contains('\0') {
                return Err(EncryptionError::InvalidInput(match what {
                    "scope" => "scope must be 1 to 512 bytes without NUL",
                    _ => "subject must be 1 to 512 bytes without NUL",
                }));
            }
        }
        Ok(())
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/v{}", self.scope, self.subject, self.version)
    }
}

/// A data key as the key store holds it: wrapped by a key-encryption key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    /// Which key.
    pub id: KeyId,
    /// The data key, wrapped (encrypted) by the KEK named in `kek_id`, bound to `id` and `kek_id`.
    pub wrapped: Vec<u8>,
    /// The data-encryption algorithm the key is for.
    pub algorithm: String,
    /// The key-encryption key that wrapped it.
    pub kek_id: String,
    /// When it was created (database clock).
    pub created_at: DateTime<Utc>,
    /// When a newer version replaced it for new writes (it still decrypts).
    pub retired_at: Option<DateTime<Utc>>,
}

/// A data key to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKey {
    /// Which key.
    pub id: KeyId,
    /// The wrapped data key.
    pub wrapped: Vec<u8>,
    /// The data-encryption algorithm.
    pub algorithm: String,
    /// The key-encryption key that wrapped it.
    pub kek_id: String,
}

/// The highest key version a key store accepts (it fits a 32-bit signed column).
pub const MAX_KEY_VERSION: u32 = 0x7fff_ffff;

impl NewKey {
    /// Checks what every key store requires before writing: valid names, a version from 1 to
    /// [`MAX_KEY_VERSION`], and non-empty wrapped key, algorithm and KEK id.
    pub fn check(&self) -> Result<(), EncryptionError> {
        KeyId::check_names(&self.id.scope, &self.id.subject)?;
        if self.id.version == 0 || self.id.version > MAX_KEY_VERSION {
            return Err(EncryptionError::InvalidInput("key version must be 1 to 2^31-1"));
        }
        if self.algorithm.is_empty() {
            return Err(EncryptionError::InvalidInput("algorithm must not be empty"));
        }
        StoredKey::check_wrapping(&self.wrapped, &self.kek_id)
    }
}

impl StoredKey {
    /// Checks a (re)wrapping before it is written: a non-empty wrapped key and KEK id.
    pub fn check_wrapping(wrapped: &[u8], kek_id: &str) -> Result<(), EncryptionError> {
        if wrapped.is_empty() || kek_id.is_empty() {
            return Err(EncryptionError::InvalidInput("wrapped key and KEK id must not be empty"));
        }
        Ok(())
    }
}

/// What a key store knows about a key or a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyLookup {
    /// The key.
    Found(StoredKey),
    /// No such key, and the subject was never destroyed (at this version).
    Missing,
    /// The subject was destroyed; versions up to `up_to_version` are gone for good.
    Destroyed {
        /// The highest version destroyed.
        up_to_version: u32,
    },
}

//! Errors of the encryption component.

use std::fmt;

use crate::{BackendError, BoxError};

/// Why an envelope failed to authenticate or parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IntegrityFailure {
    /// Too short to be an envelope.
    Truncated,
    /// The header's checksum does not match: the envelope was altered or corrupted.
    HeaderCheck,
    /// The ciphertext, nonce or associated data (scope, subject, field, key version) does not
    /// authenticate: altered, or decrypted under the wrong identity.
    Authentication,
    /// The text form is not valid base64 or lacks its prefix.
    Encoding,
    /// A wrapped data key does not authenticate under its key-encryption key.
    WrappedKey,
}

impl fmt::Display for IntegrityFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Truncated => "envelope truncated",
            Self::HeaderCheck => "envelope header checksum mismatch",
            Self::Authentication => "authentication failed",
            Self::Encoding => "envelope text is not valid",
            Self::WrappedKey => "wrapped data key failed to authenticate",
        })
    }
}

/// Everything the encryption component can fail with.
///
/// The distinctions matter for callers: [`Shredded`](Self::Shredded) is an expected outcome
/// (render it as redacted), [`KekUnavailable`](Self::KekUnavailable) is a configuration error
/// (never treat it as erased data), [`Integrity`](Self::Integrity) is tampering or corruption.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncryptionError {
    /// The subject's keys were destroyed: its data is erased for good.
    #[error("keys of subject {subject:?} in scope {scope:?} were destroyed (crypto-shredded)")]
    Shredded {
        /// The key scope.
        scope: String,
        /// The subject.
        subject: String,
    },
    /// No key exists for this scope, subject and version, and none was destroyed.
    #[error("no key version {version} for subject {subject:?} in scope {scope:?}")]
    KeyNotFound {
        /// The key scope.
        scope: String,
        /// The subject.
        subject: String,
        /// The key version the envelope names.
        version: u32,
    },
    /// The key-encryption key that wrapped a data key is not configured (or this wrapper holds
    /// only its public recipients). A configuration error, not erased data.
    #[error("key-encryption key {kek_id:?} is not available to this process")]
    KekUnavailable {
        /// The KEK the data key was wrapped with.
        kek_id: String,
    },
    /// The envelope or a wrapped key was altered, corrupted, or bound to other data.
    #[error("integrity check failed: {0}")]
    Integrity(IntegrityFailure),
    /// A wrapped data key belongs to another scope, subject, version or KEK (a swapped row).
    #[error("wrapped key is bound to {found}, expected {expected}")]
    KeyBindingMismatch {
        /// The binding the key was looked up under.
        expected: String,
        /// The binding sealed inside the wrapped key.
        found: String,
    },
    /// The envelope's format or algorithm is not one this version understands.
    #[error("unsupported envelope format {format} with algorithm {algorithm}")]
    UnsupportedFormat {
        /// The format byte.
        format: u8,
        /// The algorithm byte.
        algorithm: u8,
    },
    /// A key already exists for the subject (explicit key creation).
    #[error("a key already exists for subject {subject:?} in scope {scope:?}")]
    KeyExists {
        /// The key scope.
        scope: String,
        /// The subject.
        subject: String,
    },
    /// An argument was refused before anything ran.
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
    /// The encryption setup is unusable: a key-encryption key that cannot be loaded (bad
    /// identity text, wrong passphrase, unreadable file), or a transaction the key store cannot
    /// work in.
    #[error("encryption configuration: {reason}")]
    Configuration {
        /// What is wrong.
        reason: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// A value could not be serialized into or out of a sealed field.
    #[error("sealed value (de)serialization failed")]
    Serialization(#[source] BoxError),
    /// The database failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

impl EncryptionError {
    /// Whether retrying unchanged may succeed (only transient database failures).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Backend(err) if err.is_retryable())
    }
}

//! Key-encryption keys: how data keys are wrapped before they are stored.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::EncryptionError;
use crate::encryption::data_key::{DataKey, KeyBinding};
use crate::spi::StoredKey;

/// A key-encryption key (KEK) held outside the database.
///
/// # Contract
/// - [`wrap`](KeyWrapper::wrap) seals the data key together with its binding, so that
///   [`unwrap`](KeyWrapper::unwrap) of a blob stored under another binding fails with
///   [`EncryptionError::KeyBindingMismatch`].
/// - A wrapper that cannot decrypt (only public recipients, or the wrong key) fails unwrap with
///   [`EncryptionError::KekUnavailable`], never with something that looks like erased data.
/// - A corrupted blob fails with [`EncryptionError::Integrity`].
pub trait KeyWrapper: Send + Sync {
    /// The KEK's id, stored with every key it wraps.
    fn kek_id(&self) -> &str;

    /// Wraps `key` for `binding`.
    fn wrap(&self, key: &DataKey, binding: &KeyBinding<'_>) -> Result<Vec<u8>, EncryptionError>;

    /// Unwraps a blob stored under `binding`.
    fn unwrap(&self, wrapped: &[u8], binding: &KeyBinding<'_>) -> Result<DataKey, EncryptionError>;
}

impl<W: KeyWrapper + ?Sized> KeyWrapper for Arc<W> {
    fn kek_id(&self) -> &str {
        (**self).kek_id()
    }

    fn wrap(&self, key: &DataKey, binding: &KeyBinding<'_>) -> Result<Vec<u8>, EncryptionError> {
        (**self).wrap(key, binding)
    }

    fn unwrap(&self, wrapped: &[u8], binding: &KeyBinding<'_>) -> Result<DataKey, EncryptionError> {
        (**self).unwrap(wrapped, binding)
    }
}

/// The current KEK (which wraps new keys) plus older ones that still unwrap the keys they wrapped.
#[derive(Clone)]
pub struct Keyring {
    primary: Arc<dyn KeyWrapper>,
    by_id: BTreeMap<String, Arc<dyn KeyWrapper>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("primary", &self.primary.kek_id())
            .field("keks", &self.by_id.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Keyring {
    /// A keyring wrapping new keys with `primary`.
    pub fn new(primary: impl KeyWrapper + 'static) -> Self {
        Self::from_arc(Arc::new(primary))
    }

    /// As [`Keyring::new`], for a shared wrapper.
    pub fn from_arc(primary: Arc<dyn KeyWrapper>) -> Self {
        let mut by_id = BTreeMap::new();
        by_id.insert(primary.kek_id().to_owned(), Arc::clone(&primary));
        Self { primary, by_id }
    }

    /// Adds an older KEK, used only to unwrap keys it wrapped.
    #[must_use]
    pub fn with_previous(mut self, previous: impl KeyWrapper + 'static) -> Self {
        self.by_id.entry(previous.kek_id().to_owned()).or_insert_with(|| Arc::new(previous));
        self
    }

    /// As [`Keyring::with_previous`], for a shared wrapper.
    #[must_use]
    pub fn with_previous_arc(mut self, previous: Arc<dyn KeyWrapper>) -> Self {
        self.by_id.entry(previous.kek_id().to_owned()).or_insert(previous);
        self
    }

    /// The KEK new keys are wrapped with.
    pub fn primary(&self) -> &Arc<dyn KeyWrapper> {
        &self.primary
    }

    /// Unwraps a stored key with the KEK it names.
    pub fn unwrap(&self, stored: &StoredKey) -> Result<DataKey, EncryptionError> {
        let wrapper = self
            .by_id
            .get(&stored.kek_id)
            .ok_or_else(|| EncryptionError::KekUnavailable { kek_id: stored.kek_id.clone() })?;
        wrapper.unwrap(&stored.wrapped, &KeyBinding { id: &stored.id, kek_id: &stored.kek_id })
    }
}

//! The key-store port: where wrapped data keys and destruction tombstones live.
//!
//! The encryption engine (feature `encryption`) keeps one data key per subject and version in
//! the application's database, wrapped by a key-encryption key that never enters it. Destroying
//! a subject's keys (crypto-shredding) deletes the rows and leaves a tombstone, so that its data
//! reads as erased and a new key cannot silently take the old versions' place.

mod error;
mod record;

use async_trait::async_trait;

pub use error::{EncryptionError, IntegrityFailure};
pub use record::{KeyId, KeyLookup, MAX_KEY_VERSION, NewKey, StoredKey};

use crate::Database;

/// Storage of wrapped data keys and tombstones, inside the caller's transactions.
///
/// # Contract
/// Every adapter passes the key-store scenarios of `pupsourcing-conformance`:
/// - [`lock_subject`](KeyStore::lock_subject) serializes every creation, rotation and
///   destruction of one subject's keys until the transaction ends, so two processes never
///   create two first keys or create a key beside a tombstone.
/// - [`get`](KeyStore::get) reports [`KeyLookup::Destroyed`] for versions at or below a
///   tombstone, [`KeyLookup::Missing`] otherwise when there is no row.
/// - [`insert`](KeyStore::insert) stores a new version and retires the subject's older ones;
///   it fails with [`EncryptionError::KeyExists`] if that version exists.
/// - [`destroy`](KeyStore::destroy) deletes every version and records (or raises) the tombstone.
#[async_trait]
pub trait KeyStore<D: Database>: Send + Sync + 'static {
    /// Locks `subject`'s keys until the end of `tx` and returns its newest key.
    async fn lock_subject(
        &self,
        tx: &mut D::Tx,
        scope: &str,
        subject: &str,
    ) -> Result<KeyLookup, EncryptionError>;

    /// The newest (highest-version) key of a subject, without locking.
    async fn current(
        &self,
        tx: &mut D::Tx,
        scope: &str,
        subject: &str,
    ) -> Result<KeyLookup, EncryptionError>;

    /// One version of a subject's key.
    async fn get(&self, tx: &mut D::Tx, id: &KeyId) -> Result<KeyLookup, EncryptionError>;

    /// Stores a new key version and retires the older ones.
    async fn insert(&self, tx: &mut D::Tx, key: &NewKey) -> Result<StoredKey, EncryptionError>;

    /// Deletes every key of the subject and records a tombstone covering their versions.
    /// Returns how many keys were deleted.
    async fn destroy(
        &self,
        tx: &mut D::Tx,
        scope: &str,
        subject: &str,
    ) -> Result<u64, EncryptionError>;

    /// Up to `limit` keys after `after`, in `(scope, subject, version)` order, whose KEK is not
    /// `kek_id` (for rewrapping).
    async fn wrapped_by_other(
        &self,
        tx: &mut D::Tx,
        kek_id: &str,
        after: Option<KeyId>,
        limit: usize,
    ) -> Result<Vec<StoredKey>, EncryptionError>;

    /// Replaces a key's wrapping (same data key, new KEK). `false` if the key no longer exists.
    async fn rewrap(
        &self,
        tx: &mut D::Tx,
        id: &KeyId,
        wrapped: &[u8],
        kek_id: &str,
    ) -> Result<bool, EncryptionError>;
}

//! [`Encryptor`]: encrypt and decrypt fields per subject; shred, rotate, rewrap.

use std::sync::Arc;
use std::time::Duration;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::encryption::cache::{KeyCache, Trust};
use crate::encryption::data_key::{DATA_KEY_ALGORITHM, DataKey, KeyBinding};
use crate::encryption::envelope::{Envelope, NONCE, associated_data};
use crate::encryption::nonce::NonceSequence;
use crate::encryption::pii::{Pii, Revealed};
use crate::encryption::rewrap::Rewrap;
use crate::encryption::subject::Subject;
use crate::encryption::within::Within;
use crate::encryption::wrapper::{KeyWrapper, Keyring};
use crate::spi::{KeyId, KeyLookup, KeyStore, NewKey, StoredKey};
use crate::{Backend, Database, EncryptionError, IntegrityFailure};

/// Settings of an [`Encryptor`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptorConfig {
    /// Unwrapped data keys kept in memory. Default 10 000.
    pub cache_capacity: usize,
    /// How long a cached key stays usable; also how long *another* process may keep decrypting
    /// a subject shredded elsewhere. Default 60 s.
    pub cache_ttl: Duration,
    /// Whether a shredded subject may get a new key (its old data stays erased). Default false.
    pub allow_recreate_after_shred: bool,
}

impl Default for EncryptorConfig {
    fn default() -> Self {
        Self {
            cache_capacity: 10_000,
            cache_ttl: Duration::from_secs(60),
            allow_recreate_after_shred: false,
        }
    }
}

/// Encrypts and decrypts fields with per-subject data keys, stored wrapped in a [`KeyStore`].
///
/// Each (scope, subject) has a data key, created on first use, race-free across processes and
/// optionally inside the caller's transaction (an event and its subject's first key commit
/// together). Fields are sealed with XChaCha20-Poly1305 bound to scope, subject, key version
/// and field label. [`shred`](Encryptor::shred) destroys a subject's keys: its fields then
/// reveal as [`Revealed::Shredded`], everywhere, once caches expire.
pub struct Encryptor<D: Database, K> {
    inner: Arc<Inner<D, K>>,
}

struct Inner<D, K> {
    db: D,
    keys: K,
    keyring: Keyring,
    cache: KeyCache,
    config: EncryptorConfig,
    nonces: NonceSequence,
}

impl<D: Database, K> Clone for Encryptor<D, K> {
    fn clone(&self) -> Self {
        Self { inner: Arc::clone(&self.inner) }
    }
}

fn check_field(field: &str) -> Result<(), EncryptionError> {
    if field.is_empty() || field.len() > 512 || field.contains('\0') {
        return Err(EncryptionError::InvalidInput(
            "field label must be 1 to 512 bytes without NUL",
        ));
    }
    Ok(())
}

impl<D: Database, K: KeyStore<D>> Encryptor<D, K> {
    /// An encryptor over the key store of `backend`, wrapping new data keys with `keyring`'s
    /// primary KEK.
    pub fn new<S, C>(backend: &Backend<D, S, C, K>, keyring: Keyring) -> Self
    where
        K: Clone,
    {
        Self::with_config(backend, keyring, EncryptorConfig::default())
    }

    /// An encryptor with explicit settings.
    pub fn with_config<S, C>(
        backend: &Backend<D, S, C, K>,
        keyring: Keyring,
        config: EncryptorConfig,
    ) -> Self
    where
        K: Clone,
    {
        Self::assemble(backend.database().clone(), backend.keys().clone(), keyring, config)
    }

    fn assemble(db: D, keys: K, keyring: Keyring, config: EncryptorConfig) -> Self {
        let cache = KeyCache::new(config.cache_capacity, config.cache_ttl);
        Self {
            inner: Arc::new(Inner {
                db,
                keys,
                keyring,
                cache,
                config,
                nonces: NonceSequence::new(),
            }),
        }
    }

    /// The keyring.
    pub fn keyring(&self) -> &Keyring {
        &self.inner.keyring
    }

    /// Encrypts `plaintext` as the field `field` of `subject`, creating the subject's key if
    /// needed (in a transaction of its own; [`within`](Self::within) joins the caller's).
    pub async fn encrypt(
        &self,
        subject: &Subject,
        field: &str,
        plaintext: &[u8],
    ) -> Result<Envelope, EncryptionError> {
        let (scope, subject) = (subject.scope(), subject.id());
        check_field(field)?;
        let (version, key) = match self.cached_current(scope, subject) {
            Some(found) => found,
            None => {
                let mut tx = self.inner.db.begin().await?;
                let resolved = match self.current_key(&mut tx, scope, subject).await {
                    Ok(resolved) => resolved,
                    Err(err) => return Err(self.abandon(tx, err).await),
                };
                self.inner.db.commit(tx).await?;
                self.remember(&resolved, Trust::Committed)
            }
        };
        seal_field(&key, self.inner.nonces.next(), version, scope, subject, field, plaintext)
    }

    /// Encrypts inside `tx`: a key created on the way commits or rolls back with it.
    pub(crate) async fn encrypt_in(
        &self,
        tx: &mut D::Tx,
        subject: &Subject,
        field: &str,
        plaintext: &[u8],
    ) -> Result<Envelope, EncryptionError> {
        let (scope, subject) = (subject.scope(), subject.id());
        check_field(field)?;
        let (version, key) = match self.cached_current(scope, subject) {
            Some(found) => found,
            None => {
                let resolved = self.current_key(tx, scope, subject).await?;
                self.remember(&resolved, Trust::CallerTx)
            }
        };
        seal_field(&key, self.inner.nonces.next(), version, scope, subject, field, plaintext)
    }

    /// Decrypts an envelope sealed as the field `field` of `subject`.
    pub async fn decrypt(
        &self,
        subject: &Subject,
        field: &str,
        envelope: &Envelope,
    ) -> Result<Zeroizing<Vec<u8>>, EncryptionError> {
        let (scope, subject) = (subject.scope(), subject.id());
        let version = envelope.key_version();
        let key = match self.inner.cache.get_confirmed(scope, subject, version) {
            Some(key) => key,
            None => {
                let mut tx = self.inner.db.begin_read().await?;
                let loaded = self.load(&mut tx, &KeyId::new(scope, subject, version)).await;
                self.inner.db.rollback(tx).await?;
                self.remember(&loaded?, Trust::Committed).1
            }
        };
        open_field(&key, envelope, scope, subject, field)
    }

    /// Decrypts reading the key store inside `tx`.
    pub(crate) async fn decrypt_in(
        &self,
        tx: &mut D::Tx,
        subject: &Subject,
        field: &str,
        envelope: &Envelope,
    ) -> Result<Zeroizing<Vec<u8>>, EncryptionError> {
        let (scope, subject) = (subject.scope(), subject.id());
        let version = envelope.key_version();
        let key = match self.inner.cache.get_confirmed(scope, subject, version) {
            Some(key) => key,
            None => {
                let loaded = self.load(tx, &KeyId::new(scope, subject, version)).await?;
                self.remember(&loaded, Trust::CallerTx).1
            }
        };
        open_field(&key, envelope, scope, subject, field)
    }

    /// Serializes `value` as JSON and seals it as the field `field` of `subject`.
    pub async fn seal<T: Serialize>(
        &self,
        subject: &Subject,
        field: &str,
        value: &T,
    ) -> Result<Pii<T>, EncryptionError> {
        let plaintext = json_plaintext(value)?;
        Ok(Pii::new(self.encrypt(subject, field, &plaintext).await?))
    }

    /// Decrypts a sealed value; a shredded subject yields [`Revealed::Shredded`] rather than an
    /// error. Every other failure (a missing KEK above all) is still an error.
    pub async fn reveal<T: DeserializeOwned>(
        &self,
        subject: &Subject,
        field: &str,
        sealed: &Pii<T>,
    ) -> Result<Revealed<T>, EncryptionError> {
        revealed(self.decrypt(subject, field, sealed.envelope()).await)
    }

    /// The operations that join the caller's transaction `tx`: keys created, read or destroyed
    /// on the way commit or roll back with the caller's own writes (an event appended with the
    /// sealed field, say).
    ///
    /// ```
    /// use pupsourcing::encryption::{AeadWrapper, DataKey, Encryptor, Keyring, Revealed, Subject};
    /// use pupsourcing::Database;
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let backend = pupsourcing_memory::open();
    /// let kek = AeadWrapper::new("kek-1", &DataKey::generate())?;
    /// let encryptor = Encryptor::new(&backend, Keyring::new(kek));
    /// let ann = Subject::new("users", "ann")?;
    ///
    /// let mut tx = backend.database().begin().await?;
    /// let email = encryptor.within(&mut tx).seal(&ann, "email", &"ann@example.com".to_owned()).await?;
    /// // ... append the event holding `email` with the same `tx` ...
    /// backend.database().commit(tx).await?; // Ann's new data key commits with it
    /// assert!(matches!(encryptor.reveal(&ann, "email", &email).await?, Revealed::Plain(_)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn within<'a>(&'a self, tx: &'a mut D::Tx) -> Within<'a, D, K> {
        Within::new(self, tx)
    }

    /// Creates the subject's first key inside `tx`; fails with [`EncryptionError::KeyExists`]
    /// if it has one. Returns its version.
    pub(crate) async fn create_key_in(
        &self,
        tx: &mut D::Tx,
        subject: &Subject,
    ) -> Result<u32, EncryptionError> {
        let (scope, subject) = (subject.scope(), subject.id());
        match self.inner.keys.lock_subject(tx, scope, subject).await? {
            KeyLookup::Found(_) => {
                Err(EncryptionError::KeyExists { scope: scope.into(), subject: subject.into() })
            }
            other => {
                let version = self.next_version(other, scope, subject)?;
                let created = self.create(tx, scope, subject, version).await?;
                self.remember(&created, Trust::CallerTx);
                Ok(version)
            }
        }
    }

    /// Starts a new key version of `subject` for new writes; older versions keep decrypting.
    /// Returns it.
    pub async fn rotate(&self, subject: &Subject) -> Result<u32, EncryptionError> {
        let (scope, subject) = (subject.scope(), subject.id());
        let mut tx = self.inner.db.begin().await?;
        let created = match self.rotate_in(&mut tx, scope, subject).await {
            Ok(created) => created,
            Err(err) => return Err(self.abandon(tx, err).await),
        };
        self.inner.db.commit(tx).await?;
        Ok(self.remember(&created, Trust::Committed).0)
    }

    /// Destroys every key of `subject` (crypto-shredding) in a transaction of its own. Returns
    /// how many key versions were destroyed. This process's cache forgets the subject at once,
    /// other processes after their cache TTL.
    pub async fn shred(&self, subject: &Subject) -> Result<u64, EncryptionError> {
        let mut tx = self.inner.db.begin().await?;
        let destroyed = match self.shred_in(&mut tx, subject).await {
            Ok(destroyed) => destroyed,
            Err(err) => return Err(self.abandon(tx, err).await),
        };
        self.inner.db.commit(tx).await?;
        self.inner.cache.invalidate(subject.scope(), subject.id());
        Ok(destroyed)
    }

    /// Shreds inside `tx`.
    pub(crate) async fn shred_in(
        &self,
        tx: &mut D::Tx,
        subject: &Subject,
    ) -> Result<u64, EncryptionError> {
        let (scope, subject) = (subject.scope(), subject.id());
        self.inner.keys.lock_subject(tx, scope, subject).await?;
        let destroyed = self.inner.keys.destroy(tx, scope, subject).await?;
        self.inner.cache.invalidate(scope, subject);
        Ok(destroyed)
    }

    /// Re-wraps every data key not yet wrapped by `target` (typically the new primary KEK),
    /// page by page, with this encryptor's keyring to unwrap them. See [`Rewrap`].
    pub fn rewrap(&self, target: Arc<dyn KeyWrapper>, page: usize) -> Rewrap<D, K> {
        Rewrap::new(self.inner.db.clone(), self.clone(), target, page)
    }

    pub(crate) fn keys(&self) -> &K {
        &self.inner.keys
    }

    fn cached_current(&self, scope: &str, subject: &str) -> Option<(u32, Arc<DataKey>)> {
        self.inner.cache.current(scope, subject)
    }

    /// Caches a resolved key; the subject's current version is recorded only once it is known
    /// to be committed.
    fn remember(&self, resolved: &Resolved, trust: Trust) -> (u32, Arc<DataKey>) {
        let cache = &self.inner.cache;
        let id = &resolved.id;
        if resolved.created && trust == Trust::CallerTx {
            cache.put_created(id, Arc::clone(&resolved.key), &resolved.wrapped);
        } else {
            cache.put(id, Arc::clone(&resolved.key), &resolved.wrapped, trust);
        }
        if resolved.current && cache.get_confirmed(&id.scope, &id.subject, id.version).is_some() {
            cache.set_current(&id.scope, &id.subject, id.version);
        }
        (id.version, Arc::clone(&resolved.key))
    }

    async fn abandon(&self, tx: D::Tx, err: EncryptionError) -> EncryptionError {
        if let Err(rollback) = self.inner.db.rollback(tx).await {
            tracing::debug!(error = %rollback, "rollback after a failed key operation failed");
        }
        err
    }

    fn next_version(
        &self,
        lookup: KeyLookup,
        scope: &str,
        subject: &str,
    ) -> Result<u32, EncryptionError> {
        match lookup {
            KeyLookup::Found(stored) => Ok(stored.id.version + 1),
            KeyLookup::Missing => Ok(1),
            KeyLookup::Destroyed { up_to_version }
                if self.inner.config.allow_recreate_after_shred =>
            {
                Ok(up_to_version + 1)
            }
            KeyLookup::Destroyed { .. } => {
                Err(EncryptionError::Shredded { scope: scope.into(), subject: subject.into() })
            }
        }
    }

    /// The subject's current key, created under the subject lock if it has none.
    async fn current_key(
        &self,
        tx: &mut D::Tx,
        scope: &str,
        subject: &str,
    ) -> Result<Resolved, EncryptionError> {
        if let KeyLookup::Found(stored) = self.inner.keys.current(tx, scope, subject).await? {
            return self.resolve(stored, true);
        }
        match self.inner.keys.lock_subject(tx, scope, subject).await? {
            KeyLookup::Found(stored) => self.resolve(stored, true),
            other => {
                let version = self.next_version(other, scope, subject)?;
                self.create(tx, scope, subject, version).await
            }
        }
    }

    async fn rotate_in(
        &self,
        tx: &mut D::Tx,
        scope: &str,
        subject: &str,
    ) -> Result<Resolved, EncryptionError> {
        let current = self.inner.keys.lock_subject(tx, scope, subject).await?;
        let version = self.next_version(current, scope, subject)?;
        self.create(tx, scope, subject, version).await
    }

    /// The data key of a stored row: from the cache when the wrapped bytes match, else unwrapped.
    fn resolve(&self, stored: StoredKey, current: bool) -> Result<Resolved, EncryptionError> {
        let key = match self.inner.cache.get_matching(&stored.id, &stored.wrapped) {
            Some(key) => key,
            None => Arc::new(self.inner.keyring.unwrap(&stored)?),
        };
        Ok(Resolved { id: stored.id, key, wrapped: stored.wrapped, created: false, current })
    }

    async fn create(
        &self,
        tx: &mut D::Tx,
        scope: &str,
        subject: &str,
        version: u32,
    ) -> Result<Resolved, EncryptionError> {
        let key = DataKey::generate();
        let id = KeyId::new(scope, subject, version);
        let primary = self.inner.keyring.primary();
        let wrapped = primary.wrap(&key, &KeyBinding { id: &id, kek_id: primary.kek_id() })?;
        let new = NewKey {
            id,
            wrapped,
            algorithm: DATA_KEY_ALGORITHM.into(),
            kek_id: primary.kek_id().into(),
        };
        self.inner.keys.insert(tx, &new).await?;
        Ok(Resolved {
            id: new.id,
            key: Arc::new(key),
            wrapped: new.wrapped,
            created: true,
            current: true,
        })
    }

    async fn load(&self, tx: &mut D::Tx, id: &KeyId) -> Result<Resolved, EncryptionError> {
        match self.inner.keys.get(tx, id).await? {
            KeyLookup::Found(stored) => self.resolve(stored, false),
            KeyLookup::Destroyed { .. } => Err(EncryptionError::Shredded {
                scope: id.scope.clone(),
                subject: id.subject.clone(),
            }),
            KeyLookup::Missing => Err(EncryptionError::KeyNotFound {
                scope: id.scope.clone(),
                subject: id.subject.clone(),
                version: id.version,
            }),
        }
    }
}

/// A data key resolved from the key store, before it is cached.
struct Resolved {
    id: KeyId,
    key: Arc<DataKey>,
    wrapped: Vec<u8>,
    /// Created by this call (not yet committed).
    created: bool,
    /// The subject's newest version at the time it was read.
    current: bool,
}

fn seal_field(
    key: &DataKey,
    nonce: [u8; NONCE],
    version: u32,
    scope: &str,
    subject: &str,
    field: &str,
    plaintext: &[u8],
) -> Result<Envelope, EncryptionError> {
    let cipher = XChaCha20Poly1305::new(key.expose().into());
    let aad = associated_data(version, scope, subject, field);
    let ciphertext = cipher
        .encrypt(&XNonce::from(nonce), Payload { msg: plaintext, aad: &aad })
        .map_err(|_| EncryptionError::InvalidInput("plaintext too large to encrypt"))?;
    Ok(Envelope::new(version, nonce, ciphertext))
}

fn open_field(
    key: &DataKey,
    envelope: &Envelope,
    scope: &str,
    subject: &str,
    field: &str,
) -> Result<Zeroizing<Vec<u8>>, EncryptionError> {
    let cipher = XChaCha20Poly1305::new(key.expose().into());
    let aad = associated_data(envelope.key_version(), scope, subject, field);
    cipher
        .decrypt(
            &XNonce::from(*envelope.nonce()),
            Payload { msg: envelope.ciphertext(), aad: &aad },
        )
        .map(Zeroizing::new)
        .map_err(|_| EncryptionError::Integrity(IntegrityFailure::Authentication))
}

pub(crate) fn revealed<T: DeserializeOwned>(
    plaintext: Result<Zeroizing<Vec<u8>>, EncryptionError>,
) -> Result<Revealed<T>, EncryptionError> {
    match plaintext {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Revealed::Plain)
            .map_err(|e| EncryptionError::Serialization(Box::new(e))),
        Err(EncryptionError::Shredded { .. }) => Ok(Revealed::Shredded),
        Err(other) => Err(other),
    }
}

/// `value` as JSON, in a buffer that is wiped when dropped.
pub(crate) fn json_plaintext<T: Serialize>(
    value: &T,
) -> Result<Zeroizing<Vec<u8>>, EncryptionError> {
    serde_json::to_vec(value)
        .map(Zeroizing::new)
        .map_err(|e| EncryptionError::Serialization(Box::new(e)))
}

#[cfg(test)]
mod tests;
